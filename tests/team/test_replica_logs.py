"""Two replicas of the service on the team stack, each on a "machine" of its own, ship their
prediction logs in segments; the monitor on a third machine reads every replica's rows exactly
once (and again, nothing twice), and a replica's own monitor reads its own rows from disk and the
other's from the store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tabship_dev import processes

from tabship.data import ObjectStore

BIN = Path(sys.executable).parent
MODEL = "replicas-adult"  # a model of its own: the session's other tests use tabship-adult
ROWS = {"r1": 300, "r2": 500}


def _run(env: dict[str, str], root: Path, *command: str) -> Any:
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--json"],
        env=env, cwd=root, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


def _machine(make: Callable[[Path, str], Path], folder: Path) -> Path:
    """A small project whose model is MODEL, closing log segments each second."""
    root = make(folder, MODEL)
    serving = root / "configs" / "serving.yaml"
    settings = yaml.safe_load(serving.read_text(encoding="utf-8"))
    settings["log_segment_seconds"] = 1
    serving.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return root


def _shipped_rows(store: ObjectStore, tmp_path: Path) -> dict[str, int]:
    """Rows in each replica's shipped segments, read back from the store."""
    rows: dict[str, int] = {}
    for key in store.keys(f"logs/{MODEL}"):
        replica = key.split("/")[2]
        local = tmp_path / "read-back"
        store.download(key, local)
        rows[replica] = rows.get(replica, 0) + len(local.read_bytes().splitlines())
    return rows


def test_the_monitor_reads_every_replicas_rows_exactly_once(
    team_env: dict[str, str],
    tmp_path: Path,
    team_project: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = _machine(team_project, tmp_path / "a")
    trained = _run({**team_env, "TABSHIP_REPLICA": "a"}, a, "tabship-models", "train")
    assert trained["status"] == "promoted"

    started = []
    try:
        for replica, rows in ROWS.items():
            root = _machine(team_project, tmp_path / replica)
            env = {**team_env, "TABSHIP_REPLICA": replica,
                   "BENTOML_HOME": str(tmp_path / f"bento-{replica}")}  # fmt: skip
            _run(env, root, "tabship-serving", "build", "--model-only")
            port = processes.free_port()
            service = f"http://127.0.0.1:{port}"
            started.append(processes.start(
                [str(BIN / "tabship-serving"), "serve", "--port", str(port)], f"{service}/readyz",
                tmp_path / f"serve-{replica}.log", env=env, cwd=root,
            ))  # fmt: skip
            _run(env, root, "tabship-serving", "simulate", "--url", service,
                 "--rows", str(rows), "--no-labels")  # fmt: skip

        for key, value in team_env.items():
            monkeypatch.setenv(key, value)
        store = ObjectStore(team_env["TABSHIP_DATA_STORE"])
        processes.wait_until(
            lambda: _shipped_rows(store, tmp_path) == ROWS, "both replicas' segments shipped"
        )
    finally:
        for process in started:
            processes.stop(process)

    # A third machine, with no log of its own: every row of both replicas, once.
    report = _run({**team_env, "TABSHIP_REPLICA": "a"}, a, "tabship-models", "monitor",
                  "--no-plots")  # fmt: skip
    assert report["window"]["rows"] == sum(ROWS.values())
    again = _run({**team_env, "TABSHIP_REPLICA": "a"}, a, "tabship-models", "monitor",
                 "--no-plots")  # fmt: skip
    assert again["log"]["rows_written"] == 0 and again["window"]["rows"] == sum(ROWS.values())

    # Replica r1's own monitor: its rows from its disk, r2's from the store, none twice.
    r1 = tmp_path / "r1"
    mine = _run({**team_env, "TABSHIP_REPLICA": "r1"}, r1, "tabship-models", "monitor",
                "--no-plots")  # fmt: skip
    assert mine["window"]["rows"] == sum(ROWS.values())
    fetched = list((r1 / "monitoring" / MODEL / "tabship_predictions" / "data").glob("data.r-*"))
    assert fetched and all(p.name.startswith("data.r-r2.") for p in fetched)
