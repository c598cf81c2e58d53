"""A tiny trained project and a BentoML home in temporary folders, shared by the serving tests;
and what the hot-swap tests share (test_hotswap.py, test_hotswap_shadow.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tabship.data import Project as TabshipProject
from tabship.data import project_at

if TYPE_CHECKING:
    import pandas as pd

    from tabship.data import FieldSpec
    from tabship.models import Registry

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
    from tabship.serving.runtime.modelstore import store_champion

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


# The hot-swap tests: on real `bentoml serve` processes over a project of their own (its registry
# changes there), one per module, since each server start and each training costs seconds.


def swap_registry(project: Project) -> Registry:
    from tabship.models import Registry, load_train_config

    config = load_train_config(project.home.dataset())
    return Registry(project.home, config.model_name, config.experiment)


def alias_version(project: Project, alias: str) -> str:
    found = swap_registry(project).alias(alias)
    assert found is not None, alias
    return found.version


def retrain_with(project: Project, **train_overrides: Any) -> str:
    """Train again with TRAIN_OVERRIDES in train.yaml; the new version (promoted by the gate)."""
    import yaml

    from tabship.models import train

    path = project.root / "configs" / "datasets" / "adult" / "train.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.update(train_overrides)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = train(project.root)
    assert result.status == "promoted", result.gate_table
    return result.model_version


def serving_config(folder: Path, name: str, **settings: Any) -> Path:
    import yaml

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def served_version(server: Server, record: dict[str, Any]) -> str:
    import httpx

    answer = httpx.post(f"{server.url}/predict_one", json={"records": [record]}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()[0]["model_version"])


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


@pytest.fixture(scope="module")
def swap_project(
    project: Project,
    tmp_path_factory: pytest.TempPathFactory,
    make_small_project: Callable[[Path], Path],
) -> Project:
    """A project of its own (its registry changes here), trained in the session's environment
    (PROJECT sets it up); each server gets a BentoML home of its own (see own_home), where its
    reloads store what they load."""
    from tabship.models import train
    from tabship.serving.runtime.modelstore import store_champion

    base = tmp_path_factory.mktemp("swap")
    root = make_small_project(base / "project")
    train(root)
    stored = store_champion(project_at(root))
    home = own_home(base / "bentoml-a", stored.tag)
    return Project(root, home, stored.tag, base / "monitoring-a")


def stored_fields(project: Project) -> list[FieldSpec]:
    import bentoml

    from tabship.serving.runtime.artifact import read_fields

    return read_fields(Path(bentoml.models.get(project.tag).path))  # the session's store


@pytest.fixture(scope="module")
def rows(swap_project: Project) -> list[dict[str, Any]]:
    """400 holdout rows of the swap project, as request records (test_shadow.py has its own)."""
    from tabship.serving.simulate.covariate import records

    return records(swap_project.holdout().head(400), [f.name for f in stored_fields(swap_project)])


@dataclass(frozen=True)
class Shadowed:
    """The server in shadow mode with the registry watch, and what it started with."""

    server: Server
    project: Project
    champion: str  # store tags at the start
    challenger: str


@pytest.fixture(scope="module")
def server_b(swap_project: Project) -> Iterator[Shadowed]:
    """Shadow mode and the registry watch; the challenger is the registry's `previous` (trained
    first when the module's project has only its first version: test_hotswap_shadow.py)."""
    from tabship.models import CHALLENGER
    from tabship.serving.cli import shadow_env
    from tabship.serving.runtime.modelstore import store_champion

    registry = swap_registry(swap_project)
    if registry.alias("previous") is None:
        retrain_with(swap_project, seed=7)
    registry.client.set_registered_model_alias(
        registry.name, CHALLENGER, alias_version(swap_project, "previous")
    )
    config = serving_config(
        swap_project.root, "serving-b", workers=1, shadow=True, reload_watch_seconds=1.0
    )
    settings = {"TABSHIP_SERVING_CONFIG": str(config)}
    extra = {**settings, **shadow_env(swap_project.home, None, settings)}  # as `serve` does
    tag = store_champion(swap_project.home).tag
    base = swap_project.log_path.parent
    home = own_home(base / "bentoml-b", tag, extra["TABSHIP_CHALLENGER_TAG"])
    project = replace(swap_project, tag=tag, bentoml_home=home, log_path=base / "monitoring-b")
    running = start_server(project, extra=extra)
    yield Shadowed(running, project, project.tag, extra["TABSHIP_CHALLENGER_TAG"])
    stop_server(running.process)
