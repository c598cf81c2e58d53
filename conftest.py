"""Fixtures shared by every package's tests: small training projects built from the repository.

pytest loads this file for every test under the repository, so the models and serving tests (and
the end-to-end tests) build their projects the same way, from one definition.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import pytest
import yaml

REPO = Path(__file__).resolve().parent
# Short training: a model in a few seconds that still passes LOW_GATE on 2,000 Adult rows.
SMALL = {"folds": 3, "num_boost_round": 40, "early_stopping_rounds": 10}
LOW_GATE = {
    "floors": {"roc_auc": 0.80, "accuracy": 0.75},
    "champion_margin": {"roc_auc": 0.05},
    "group_floors": {},
}


class ProjectMaker(Protocol):
    def __call__(
        self,
        folder: Path,
        train_rows: int | None,
        holdout_rows: int | None,
        train_overrides: Mapping[str, object] | None = None,
        gate: Mapping[str, object] | None = None,
    ) -> Path: ...


def build_project(
    folder: Path,
    train_rows: int | None,
    holdout_rows: int | None,
    train_overrides: Mapping[str, object] | None = None,
    gate: Mapping[str, object] | None = None,
) -> Path:
    """A project folder: the repo's configs, and the first rows of the Adult files (all if None)."""
    shutil.copytree(REPO / "configs", folder / "configs")
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True)
    for name, rows in (("adult.data", train_rows), ("adult.test", holdout_rows)):
        lines = (REPO / "data" / "raw" / name).read_text(encoding="utf-8").splitlines(True)
        # adult.test opens with a non-data line, which the reader skips by config.
        keep = lines if rows is None else lines[: rows + (1 if name == "adult.test" else 0)]
        (raw / name).write_text("".join(keep), encoding="utf-8")
    train_path = folder / "configs" / "train.yaml"
    config = yaml.safe_load(train_path.read_text(encoding="utf-8"))
    config.update(dict(train_overrides or {}))
    train_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    if gate is not None:
        (folder / "configs" / "gate.yaml").write_text(yaml.safe_dump(dict(gate)), encoding="utf-8")
    return folder


def build_small_project(folder: Path) -> Path:
    """2,000 training and 1,000 holdout rows, short training, a gate such a model can pass."""
    return build_project(folder, 2000, 1000, SMALL, LOW_GATE)


@pytest.fixture(scope="session")
def make_project() -> ProjectMaker:
    """Build a project folder from the repository's configs and Adult rows."""
    return build_project


@pytest.fixture(scope="session")
def make_small_project() -> Callable[[Path], Path]:
    """Build the small project in a folder (see build_small_project)."""
    return build_small_project
