"""The images, built and run for real: buildah builds them, podman runs them as the Deployment says.

One chain, as production has it: `image.py prepare` (the wheelhouse, the base, every layer but the
model; CI starts it in the background first, and a build here waits for it on dist/.image.lock);
the training image trains a small project mounted at the same path, so its sqlite registry and
artifacts read the same on the host; the host stores that champion in dist/bento; the serving
image is built with it. Missing podman or buildah fails in CI and skips elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from tabship_dev.images.check import wait_ready
from tabship_dev.images.engine import Podman
from tabship_dev.images.settings import MODEL_HOME, ImageError

ROOT = Path(__file__).resolve().parents[2]
IMAGE_PY = ROOT / "docker" / "image.py"
BIN = Path(sys.executable).parent
INSTALL = "apt-get install -y --no-install-recommends podman buildah debootstrap runc"


def image_py(*args: str, timeout: float = 1800) -> dict[str, Any]:
    """`python docker/image.py --json ARGS`; its JSON answer. A failure shows the tool's tail."""
    import json

    done = subprocess.run([sys.executable, str(IMAGE_PY), "--json", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
    assert done.returncode == 0, f"image.py {' '.join(args)}:\n{done.stderr[-4000:]}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def train_in_image(image: str, project: Path) -> dict[str, Any]:
    """`train --json` in the training image, PROJECT mounted read-write at its own path."""
    import json

    mounted = ["--volume", f"{project}:{project}", "--workdir", str(project)]
    text = Podman().run_once(image, ["tabship-models", "train", "--json"], flags=mounted)
    result: dict[str, Any] = json.loads(text[text.index("{") :])
    return result


def wait_served(engine: Podman, process: subprocess.Popen[str], url: str) -> None:
    """Until URL/readyz answers 200 (120 s at most); else fail with the container's last lines."""
    try:
        wait_ready(engine, process, url, timeout=120)
    except ImageError as error:
        pytest.fail(f"{error}\n{engine.tail()}")


@pytest.fixture(scope="session")
def containers() -> SimpleNamespace:
    """train_in_image and wait_served, as a fixture (test modules cannot import conftest)."""
    return SimpleNamespace(train_in_image=train_in_image, wait_served=wait_served)


@pytest.fixture(scope="session")
def engine() -> Podman:
    """podman (runc) to run, buildah to build."""
    missing = [name for name in ("podman", "buildah", "debootstrap") if not shutil.which(name)]
    if missing:
        message = f"{', '.join(missing)} missing ({INSTALL})"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return Podman()


@pytest.fixture(scope="session")
def prepared(engine: Podman) -> dict[str, Any]:
    """The wheelhouse, the base image, the training image and the serving image's model-free
    stage, from this checkout (a rebuild reuses every unchanged layer)."""
    return image_py("prepare", "--tool", "podman")


@pytest.fixture(scope="session")
def trained(
    prepared: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    make_small_project: Callable[[Path], Path],
) -> dict[str, Any]:
    """A small project trained by the training image: its folder is mounted at the same path,
    writable by the image's user, so the sqlite registry it fills is the host's too."""
    project = make_small_project(tmp_path_factory.mktemp("container") / "project")
    for folder, _, files in os.walk(project):
        os.chown(folder, 10001, 10001)
        for name in files:
            os.chown(Path(folder) / name, 10001, 10001)
    image = prepared["training"]["images"]["training"]["name"]
    result = train_in_image(image, project)
    return {"project": project, "train": result, "image": image}


@pytest.fixture(scope="session")
def host_env() -> dict[str, str]:
    """The host's environment for the project's commands: no inherited MLflow or tabship knobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env.update(BENTOML_DO_NOT_TRACK="True")
    return env


@pytest.fixture(scope="session")
def serving_image(trained: dict[str, Any], host_env: dict[str, str]) -> dict[str, Any]:
    """The serving image carrying the champion the training image registered."""
    stored = subprocess.run(
        [str(BIN / "tabship-serving"), "build", "--model-only", "--json", "--project",
         str(trained["project"])],
        env={**host_env, "BENTOML_HOME": str(MODEL_HOME)},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr[-3000:]
    built = image_py("build", "--target", "serving", "--tool", "podman")
    return {**built["images"]["serving"], "trained": trained}


@pytest.fixture(scope="session")
def manifests(tmp_path_factory: pytest.TempPathFactory, serving_image: dict[str, Any]) -> list[Any]:
    """deploy/k8s rendered by kustomize (deploy/deploy.py) for the image just built."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_script", ROOT / "deploy" / "deploy.py")
    assert spec is not None and spec.loader is not None
    deploy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(deploy)
    target = tmp_path_factory.mktemp("k8s")
    path = deploy.render(serving_image["name"], target=target)
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
