"""The project: one folder holding `configs/`, the raw data and everything a run writes.

It is resolved once per command, from `--project`, else `$TABSHIP_PROJECT`, else the nearest folder
at or above the working directory that holds `configs/data.yaml`, and then handed to every step.
The environment's overrides (the data store, the tracking URI) are read here, at that one moment,
so no step reads the environment or walks up folders on its own.

This module imports nothing heavy: a cached `tabship-models train` must answer within a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tabship.data.errors import ConfigError

PROJECT_ENV = "TABSHIP_PROJECT"
STORE_ENV = "TABSHIP_DATA_STORE"
DATA_CONFIG_ENV = "TABSHIP_DATA_CONFIG"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
MARKER = Path("configs") / "data.yaml"


@dataclass(frozen=True)
class Project:
    """Where a project's configs, data, registry and outputs live. Paths are absolute."""

    root: Path
    store: Path
    data_config: Path
    tracking_uri: str

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def features_config(self) -> Path:
        return self.configs / "features.yaml"

    @property
    def train_config(self) -> Path:
        return self.configs / "train.yaml"

    @property
    def gate_config(self) -> Path:
        return self.configs / "gate.yaml"

    @property
    def serving_config(self) -> Path:
        return self.configs / "serving.yaml"

    @property
    def mlruns(self) -> Path:
        """The embedded tracking store's folder (sqlite file, artifacts, the training cache)."""
        return self.root / "mlruns"

    @property
    def artifacts(self) -> Path:
        """Human-facing outputs, such as model cards."""
        return self.root / "artifacts"

    @property
    def uses_embedded_tracking(self) -> bool:
        return self.tracking_uri.startswith("sqlite:")


def project_at(root: Path | str) -> Project:
    """The project rooted at ROOT, with the environment's overrides applied."""
    folder = Path(root).resolve()
    store = os.environ.get(STORE_ENV)
    config = os.environ.get(DATA_CONFIG_ENV)
    tracking = os.environ.get(TRACKING_ENV)
    return Project(
        root=folder,
        store=Path(store).resolve() if store else folder / "data" / "processed",
        data_config=Path(config).resolve() if config else folder / MARKER,
        tracking_uri=tracking or f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}",
    )


def find_project(explicit: Path | str | None = None, start: Path | None = None) -> Project:
    """EXPLICIT, else $TABSHIP_PROJECT, else the nearest folder at or above START (the cwd) that
    holds configs/data.yaml. Raises ConfigError naming where it looked."""
    chosen = explicit or os.environ.get(PROJECT_ENV)
    if chosen:
        folder = Path(chosen).resolve()
        if not folder.is_dir():
            raise ConfigError(f"{folder}: no such project folder")
        return project_at(folder)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return project_at(folder)
    raise ConfigError(
        f"no {MARKER} at or above {here}: run from a tabship project, "
        f"or pass --project or set {PROJECT_ENV}"
    )


def default_store(start: Path | None = None) -> Path:
    """The store of the project found from START (the cwd); outside a project, `data/processed`
    under START, as a plain `tabship-data ingest FILE --config C` elsewhere expects."""
    try:
        return find_project(start=start).store
    except ConfigError:
        return project_at(start or Path.cwd()).store
