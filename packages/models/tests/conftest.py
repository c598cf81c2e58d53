"""Training projects for the models tests; they are built by the repository's conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tabship.data import Project, project_at
from tabship.models import Trained, TrainingData, fit_model, load_run_config, load_training_data


@pytest.fixture
def small_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_small_project: Callable[[Path], Path]
) -> Path:
    """2,000 training and 1,000 holdout rows, short training, a gate such a model can pass."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TABSHIP_DATA_STORE", raising=False)
    return make_small_project(tmp_path / "project")


@pytest.fixture
def project_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_project: Callable[..., Path]
) -> Callable[..., Path]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TABSHIP_DATA_STORE", raising=False)

    def build(name: str, **kwargs: object) -> Path:
        return make_project(tmp_path / name, **kwargs)

    return build


def training_data(project: Project) -> TrainingData:
    """Ingest the project's data (a no-op when done) and load it as training data."""
    return load_training_data(project, load_run_config(project).data)


@pytest.fixture(scope="session")
def adult_model(
    tmp_path_factory: pytest.TempPathFactory, make_project: Callable[..., Path]
) -> tuple[Trained, TrainingData]:
    """The model the default configs train on the full Adult data (no registry: faster)."""
    project = project_at(make_project(tmp_path_factory.mktemp("adult") / "project", None, None))
    run = load_run_config(project)
    data = training_data(project)
    return fit_model(data, run.features, run.train, lambda _: None), data
