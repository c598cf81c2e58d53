"""Where studies live, and what a study is called.

Optuna's RDB storage cannot share MLflow's sqlite file: both keep their schema revision in an
`alembic_version` table, and Optuna refuses a database whose revision is MLflow's (measured with
Optuna 5.0 and MLflow 3.17: "no longer compatible with the table schema"). So on one machine
studies live in `mlruns/optuna.db`, beside the registry's database (deleting mlruns/ forgets
both); a team points $TABSHIP_STUDY_STORAGE at a database of its own, e.g. on the PostgreSQL
server the MLflow server uses (the README's "Tuning"), and shares every search.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os

from tabship.data import Project
from tabship.models.config import RunConfig

STORAGE_ENV = "TABSHIP_STUDY_STORAGE"
STUDY_FILE = "optuna.db"


def storage_url(project: Project) -> str:
    """$TABSHIP_STUDY_STORAGE (an SQLAlchemy URL), else the project's `mlruns/optuna.db`."""
    found = os.environ.get(STORAGE_ENV)
    if found:
        return found
    project.mlruns.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{project.mlruns / STUDY_FILE}"


def study_name(run: RunConfig, dataset_version: str, train_rows: int) -> str:
    """`MODEL-<hash>` over what decides the trials' results: the dataset version, the feature
    spec, training's settings and base parameters, the search's space and metric, and the
    library versions. Not the budget: raising `trials` continues the same study."""
    config = run.train
    identity = {
        "dataset_version": dataset_version,
        "train_rows": train_rows,
        "features": hashlib.sha256(run.files.features_config.read_bytes()).hexdigest(),
        "train": {
            "params": config.params,
            "seed": config.seed,
            "folds": config.folds,
            "num_threads": config.num_threads,
            "num_boost_round": config.num_boost_round,
            "early_stopping_rounds": config.early_stopping_rounds,
        },
        "tune": config.tune.identity(),
        "versions": {
            name: importlib.metadata.version(name)
            for name in ("lightgbm", "optuna", "tabship-features", "tabship-models")
        },
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return f"{config.model_name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
