"""`stack up | down | status`: the team stack on loopback, for trying and testing the team setup.

Everything lives under one folder (default `.stack/` in the workspace, or --dir):

    secrets.json   the database password and the S3 keys, made once, mode 0600
    state.json     each running part's pid and port
    env            the variables a user exports (KEY=VALUE lines, mode 0600): nox and invoke read it
    postgres/ s3/ mlflow/ logs/

`up` starts what is not running and reuses the data of an earlier `up`; `down` stops each part by
its pid and keeps the data (`--purge` deletes the folder). In production the same variables point
at the team's own PostgreSQL, S3 and MLflow server and nothing here runs.
"""

from __future__ import annotations

import json
import os
import secrets as tokens
import shutil
import signal
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tabship_dev import stackparts as parts
from tabship_dev.processes import is_program, stop_pid, wait_until
from tabship_dev.workspace import ROOT

DEFAULT_DIR = ROOT / ".stack"
ENV_FILE = "env"  # also read by noxfile.py and tasks.py: keep the name here only
STATE_FILE = "state.json"
SECRETS_FILE = "secrets.json"
PROGRAMS = {"postgres": "postgres", "s3": "weed", "mlflow": "mlflow"}  # part -> its binary
DATA_STORE_ENV = "TABSHIP_DATA_STORE"
STUDY_STORAGE_ENV = "TABSHIP_STUDY_STORAGE"  # tabship.models' tuning/storage.py reads it


def stack_dir(explicit: Path | None = None) -> Path:
    """--dir, else $TABSHIP_STACK_DIR, else .stack/ in the workspace."""
    chosen = explicit or os.environ.get("TABSHIP_STACK_DIR")
    return Path(chosen).resolve() if chosen else DEFAULT_DIR


def read_env_file(folder: Path) -> dict[str, str]:
    """The variables `up` wrote, or nothing when the stack is down."""
    path = folder / ENV_FILE
    if not path.is_file():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return dict(p for p in pairs if len(p) == 2)


def _secrets(folder: Path) -> parts.Secrets:
    path = folder / SECRETS_FILE
    kept = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    made = {
        "db_password": tokens.token_urlsafe(18),
        "access_key": "TABSHIP" + tokens.token_hex(6).upper(),
        "secret_key": tokens.token_urlsafe(30),
        "mlflow_password": tokens.token_urlsafe(18),
        "flask_secret": tokens.token_urlsafe(30),
    }
    secrets = parts.Secrets(**{**made, **kept})  # a secret made once is never replaced
    if set(kept) != set(made):
        _write_private(path, json.dumps(asdict(secrets)))
    return secrets


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)


def _state(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _alive(entry: dict[str, Any] | None, part: str) -> bool:
    if not entry or not entry.get("pid"):
        return False
    return is_program(int(entry["pid"]), PROGRAMS[part])


def up(folder: Path) -> dict[str, Any]:
    """Start the parts that are not running; return the state with the seconds each took."""
    folder.mkdir(parents=True, exist_ok=True)
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    keys = _secrets(folder)
    state = _state(folder)
    took: dict[str, float] = {}
    started = time.monotonic()
    try:
        if not _alive(state.get("postgres"), "postgres"):
            clock = time.monotonic()
            state["postgres"] = asdict(parts.start_postgres(
                folder / "postgres", keys, logs, _port(state, "postgres")
            ))  # fmt: skip
            took["postgres"] = time.monotonic() - clock
        if not _alive(state.get("s3"), "s3"):
            clock = time.monotonic()
            state["s3"] = asdict(
                parts.start_object_store(folder / "s3", keys, logs, _port(state, "s3"))
            )
            _wait_for_bucket(keys, state["s3"]["port"])
            took["s3"] = time.monotonic() - clock
        if not _alive(state.get("mlflow"), "mlflow"):
            clock = time.monotonic()
            ports = (state["postgres"]["port"], state["s3"]["port"])
            state["mlflow"] = asdict(parts.start_mlflow(
                folder / "mlflow", keys, ports, logs, _port(state, "mlflow")
            ))  # fmt: skip
            took["mlflow"] = time.monotonic() - clock
    finally:
        _write_private(folder / STATE_FILE, json.dumps(state, indent=1))
    env = environment(keys, state)
    _write_private(folder / ENV_FILE, "".join(f"{k}={v}\n" for k, v in env.items()))
    return {"folder": str(folder), "env": env, "started": took,
            "seconds": round(time.monotonic() - started, 2), "parts": status(folder)["parts"]}  # fmt: skip


def _port(state: dict[str, Any], part: str) -> int | None:
    entry = state.get(part)
    return int(entry["port"]) if entry else None


def _wait_for_bucket(keys: parts.Secrets, port: int) -> None:
    """SeaweedFS answers /healthz about 2 s before its bucket takes writes: wait for a signed
    head of the bucket, the first request a client would make."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key, region_name=parts.REGION,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )  # fmt: skip

    def ready() -> bool:
        try:
            client.head_bucket(Bucket=parts.BUCKET)
        except (BotoCoreError, ClientError):
            return False
        return True

    wait_until(ready, f"bucket {parts.BUCKET} on 127.0.0.1:{port}", timeout=60)


def environment(keys: parts.Secrets, state: dict[str, Any]) -> dict[str, str]:
    """The variables that point every tabship command at this stack."""
    return {
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{state['mlflow']['port']}",
        "MLFLOW_TRACKING_USERNAME": parts.MLFLOW_USER,
        "MLFLOW_TRACKING_PASSWORD": keys.mlflow_password,
        DATA_STORE_ENV: f"s3://{parts.BUCKET}/{parts.DATA_PREFIX}",
        **parts.store_env(keys, state["s3"]["port"]),
        STUDY_STORAGE_ENV: (
            f"postgresql+psycopg2://{parts.DB_USER}:{keys.db_password}@127.0.0.1:"
            f"{state['postgres']['port']}/{parts.STUDIES_DATABASE}"
        ),
    }


def status(folder: Path) -> dict[str, Any]:
    """Each part's address, pid and health (a request answered now)."""
    state = _state(folder)
    report: dict[str, Any] = {}
    for part in PROGRAMS:
        entry = state.get(part)
        running = _alive(entry, part)
        healthy = running and entry is not None and _healthy(part, entry["port"])
        report[part] = {
            "running": running,
            "healthy": healthy,
            "address": f"127.0.0.1:{entry['port']}" if entry else None,
            "pid": entry["pid"] if running and entry else None,
            "log": entry["log"] if entry else None,
        }
    return {
        "folder": str(folder),
        "parts": report,
        "up": all(p["healthy"] for p in report.values()),
    }


def _healthy(part: str, port: int) -> bool:
    if part == "postgres":
        return parts.pg_ready(port)
    path = "/healthz" if part == "s3" else "/health"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
            return int(answer.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def down(folder: Path, purge: bool = False) -> dict[str, Any]:
    """Stop each part by its pid, the MLflow server first (it writes to the other two)."""
    state = _state(folder)
    stopped = []
    for part in ("mlflow", "s3", "postgres"):
        entry = state.pop(part, None)
        if entry:  # the port stays: the next `up` takes it again if it is free
            state[part] = {"port": entry["port"], "log": entry["log"]}
        # PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its fast shutdown.
        first = signal.SIGINT if part == "postgres" else signal.SIGTERM
        if entry and entry.get("pid") and stop_pid(int(entry["pid"]), PROGRAMS[part], first=first):
            stopped.append(part)
    (folder / ENV_FILE).unlink(missing_ok=True)
    if folder.is_dir():
        _write_private(folder / STATE_FILE, json.dumps(state))
    if purge and folder.is_dir():
        shutil.rmtree(folder)
    return {"folder": str(folder), "stopped": stopped, "purged": purge}


def crash(folder: Path, part: str) -> None:
    """SIGKILL one part, as a crash would: the fault tests' way to lose it mid-command. `up`
    starts it again, on the same port."""
    entry = _state(folder).get(part)
    if entry and entry.get("pid"):
        stop_pid(int(entry["pid"]), PROGRAMS[part], first=signal.SIGKILL)


def describe(action: str, document: dict[str, Any]) -> str:
    """The human summary of an action's result."""
    if action == "down":
        names = ", ".join(document["stopped"]) or "nothing was running"
        return f"stopped: {names}" + (
            f"; deleted {document['folder']}" if document["purged"] else ""
        )
    lines = []
    for part, info in document["parts"].items():
        health = (
            "healthy"
            if info["healthy"]
            else ("running, not answering" if info["running"] else "down")
        )
        lines.append(f"{part:9} {info['address'] or '-':22} {health}")
    if action == "up":
        took = (
            ", ".join(f"{p} {s:.1f} s" for p, s in document["started"].items())
            or "all were running"
        )
        lines.append(f"started in {document['seconds']:.1f} s ({took})")
        lines.append(
            f"export these (also in {Path(document['folder']) / ENV_FILE}, which nox and invoke read):"
        )
        lines += [f"  export {key}={value}" for key, value in document["env"].items()]
    return "\n".join(lines)
