"""Small training projects built in temporary folders from the repository's configs and data."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml

from tabship.features import load_spec
from tabship.models.config import load_train_config
from tabship.models.dataset import TrainingData, load_training_data
from tabship.models.job import Trained, fit_model

REPO = Path(__file__).resolve().parents[3]


def make_project(
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
    config = yaml.safe_load(train_path.read_text())
    config.update(dict(train_overrides or {}))
    train_path.write_text(yaml.safe_dump(config))
    if gate is not None:
        (folder / "configs" / "gate.yaml").write_text(yaml.safe_dump(dict(gate)))
    return folder


SMALL = {"folds": 3, "num_boost_round": 40, "early_stopping_rounds": 10}
LOW_GATE = {
    "floors": {"roc_auc": 0.80, "accuracy": 0.75},
    "champion_margin": {"roc_auc": 0.05},
    "group_floors": {},
}


@pytest.fixture
def small_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """2,000 training and 1,000 holdout rows, short training, a gate such a model can pass."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TABSHIP_DATA_STORE", raising=False)
    return make_project(tmp_path / "project", 2000, 1000, SMALL, LOW_GATE)


@pytest.fixture
def project_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TABSHIP_DATA_STORE", raising=False)

    def build(name: str, **kwargs: object) -> Path:
        return make_project(tmp_path / name, **kwargs)  # type: ignore[arg-type]

    return build


@pytest.fixture(scope="session")
def adult_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trained, TrainingData]:
    """The model the default configs train on the full Adult data (no registry: faster)."""
    root = make_project(tmp_path_factory.mktemp("adult") / "project", None, None)
    config = load_train_config(root / "configs" / "train.yaml")
    data = load_training_data(root, config.dataset)
    spec = load_spec(root / "configs" / "features.yaml")
    return fit_model(data, spec, config, lambda _: None), data
