"""Training projects for the models tests; they are built by the repository's conftest.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

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


def write_log(
    root: Path, model: str, records: Sequence[Mapping[str, Any]], scores: Sequence[float]
) -> list[str]:
    """bentoml.monitor's JSON lines for RECORDS (the request fields) and their SCORES, appended
    where the service of MODEL logs under ROOT; returns the prediction ids."""
    folder = root / "monitoring" / model / "tabship_predictions" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"req{i // 100}-{i % 100}" for i in range(len(records))]
    with (folder / "data.1.log").open("a", encoding="utf-8") as handle:
        for i, (record, score) in enumerate(zip(records, scores, strict=True)):
            line = {
                **record,
                "score": float(score), "label": int(score >= 0.5), "prediction_id": ids[i],
                "model_version": "1", "timestamp": f"2026-12-02T10:{i // 60 % 60:02d}:{i % 60:02d}",
                "request_id": str(10**18 + i // 100), "trace_id": "0",
            }  # fmt: skip
            handle.write(json.dumps(line) + "\n")
    return ids


LogWriter = Callable[[Path, str, Sequence[Mapping[str, Any]], Sequence[float]], list[str]]


@pytest.fixture(scope="session")
def log_writer() -> LogWriter:
    """write_log, as a fixture (test modules cannot import conftest)."""
    return write_log
