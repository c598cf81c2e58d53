"""The team stack for tests/team: PostgreSQL, SeaweedFS and an MLflow server, started once for the
session by the same code as `invoke stack up` (tools/tabship_dev/stack.py) in a temporary folder,
each on a free loopback port, and stopped by pid at the end, where the fixture also checks that
no part is left running.

PostgreSQL comes from Debian (.ci/run installs postgresql-15): missing, the tests fail in CI and
are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from tabship_dev import processes, stack
from tabship_dev.stackparts import postgres_bin
from tabship_dev.workspace import ToolError

# Variables of the caller's own setup that would point a command elsewhere than the test stack.
FOREIGN = ("MLFLOW_", "TABSHIP_", "AWS_")


@pytest.fixture(scope="session")
def team_stack() -> Iterator[dict[str, str]]:
    """The stack's variables (what `stack up` prints), for as long as the session runs."""
    try:
        postgres_bin("initdb")
    except ToolError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(str(error))
        pytest.skip(str(error))
    # Not under pytest's private folder: as root, PostgreSQL runs as `postgres`, who must enter it.
    folder = Path(tempfile.mkdtemp(prefix="tabship-stack-"))
    folder.chmod(0o711)
    try:
        started = stack.up(folder)
    except ToolError:
        stack.down(folder)
        raise
    print(f"team stack up in {started['seconds']:.1f} s: {started['started']}")
    pids = {name: part["pid"] for name, part in started["parts"].items()}
    yield dict(started["env"], TABSHIP_STACK_DIR=str(folder))
    stack.down(folder)
    left = {name: pid for name, pid in pids.items() if processes.running(pid)}
    shutil.rmtree(folder, ignore_errors=True)
    assert not left, f"stack down left these running: {left}"


@pytest.fixture(scope="session")
def team_project(make_small_project: Callable[[Path], Path]) -> Callable[[Path, str], Path]:
    """make(folder, model): the small Adult project with its model named MODEL. Each test keeps a
    registered model of its own, since the session's tests share one registry."""

    def make(folder: Path, model: str) -> Path:
        root = make_small_project(folder)
        train = root / "configs" / "datasets" / "adult" / "train.yaml"
        config = yaml.safe_load(train.read_text(encoding="utf-8"))
        config.update(model_name=model, experiment=model)
        train.write_text(yaml.safe_dump(config), encoding="utf-8")
        return root

    return make


@pytest.fixture
def team_env(team_stack: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A clean environment that reaches the stack (and nothing of the caller's setup)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update(team_stack)
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True")
    return env
