"""Where MLflow tracking and the registry live. No MLflow import: the cache needs this cheaply."""

from __future__ import annotations

import os
from pathlib import Path


def tracking_uri(root: Path) -> str:
    """MLFLOW_TRACKING_URI when set, otherwise a sqlite file under ROOT/mlruns (no server)."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{(root / 'mlruns' / 'mlflow.db').resolve()}"


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above START (the cwd) that holds configs/train.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "configs" / "train.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no configs/train.yaml at or above {here}")
