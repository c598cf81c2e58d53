"""A tiny trained project and a BentoML home in temporary folders, shared by the serving tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tabship.data import Project as TabshipProject
from tabship.data import project_at

if TYPE_CHECKING:
    import pandas as pd

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Project:
    """A trained project whose champion is in a temporary BentoML model store."""

    root: Path
    bentoml_home: Path
    tag: str
    log_path: Path

    @property
    def home(self) -> TabshipProject:
        """The tabship project (configs, store, registry) in ROOT."""
        return project_at(self.root)

    def holdout(self) -> pd.DataFrame:
        """The holdout rows of the project's latest dataset version."""
        from tabship.models import load_run_config, load_version

        return load_version(self.home, load_run_config(self.home).data).holdout


@pytest.fixture(scope="session")
def project(
    tmp_path_factory: pytest.TempPathFactory, make_small_project: Callable[[Path], Path]
) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("serving")
    saved = {
        k: os.environ.get(k)
        for k in (
            "BENTOML_HOME",
            "MLFLOW_TRACKING_URI",
            "TABSHIP_DATA_STORE",
            "BENTOML_DO_NOT_TRACK",
        )
    }
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("TABSHIP_DATA_STORE", None)
    os.environ["BENTOML_HOME"] = str(base / "bentoml")
    os.environ["BENTOML_DO_NOT_TRACK"] = "True"
    root = make_small_project(base / "project")

    from tabship.models import train
    from tabship.serving.modelstore import store_champion

    train(root)
    stored = store_champion(project_at(root))
    yield Project(root, base / "bentoml", stored.tag, base / "monitoring")
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def own_home(folder: Path, *tags: str) -> Path:
    """A BentoML home of its own in FOLDER, holding copies of TAGS from this session's store:
    servers that share a home also share their Prometheus files (a start clears the others')."""
    import bentoml

    for tag in tags:
        name, version = tag.split(":")
        shutil.copytree(Path(bentoml.models.get(tag).path), folder / "models" / name / version)
        (folder / "models" / name / "latest").write_text(version)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    token: str | None


def start_server(
    project: Project, token: str | None = None, extra: Mapping[str, str] | None = None
) -> Server:
    """`bentoml serve` on a free loopback port, in its own process group; waits for /readyz.
    EXTRA is put in its environment last (a serving config, a reload token)."""
    from tabship.serving.cli import serve_command, serve_env

    port = free_port()
    env = serve_env(project.home)
    env.update(
        TABSHIP_MODEL_TAG=project.tag,
        TABSHIP_PREDICTION_LOG=str(project.log_path),
        BENTOML_HOME=str(project.bentoml_home),
    )
    for name in ("TABSHIP_API_TOKEN", "TABSHIP_RELOAD_TOKEN", "TABSHIP_CHALLENGER_TAG"):
        env.pop(name, None)
    if token:
        env["TABSHIP_API_TOKEN"] = token
    env.update(extra or {})
    log = (project.log_path.parent / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        serve_command("127.0.0.1", port),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return Server(url, process, project.log_path, token)
        except OSError:
            time.sleep(0.1)
    stop_server(process)
    raise TimeoutError("the server did not become ready")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its own pid (its process group: bentoml's workers are its children)."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="session")
def server(project: Project) -> Iterator[Server]:
    running = start_server(project)
    yield running
    stop_server(running.process)
