"""The project: one folder holding `configs/`, the raw data and everything a run writes.

It is resolved once per command, from `--project`, else `$TABSHIP_PROJECT`, else the nearest folder
at or above the working directory that holds `configs/project.yaml`, and then handed to every step.
The environment's overrides (the data store, the tracking URI) are read here, at that one moment,
so no step reads the environment or walks up folders on its own.

Each dataset has its own folder of configs, `configs/datasets/NAME/` (`DatasetFiles`), so several
datasets live side by side and no command of one touches another's files.

This module imports nothing heavy: a cached `tabship-models train` must answer within a second.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from tabship.data.errors import ConfigError
from tabship.data.logpaths import LOG_ENV, ModelLogs, monitoring_root
from tabship.data.objectstore import is_object_url
from tabship.data.yamlfile import read_yaml_mapping

PROJECT_ENV = "TABSHIP_PROJECT"
STORE_ENV = "TABSHIP_DATA_STORE"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
MARKER = Path("configs") / "project.yaml"
DATASETS = Path("configs") / "datasets"
# A dataset's name becomes a folder, a model name and a store path: keep it to safe characters.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_dataset_name(name: str) -> str:
    """NAME, if it can be a dataset's name; else ConfigError saying what is allowed."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"{name!r} is not a valid dataset name: use lower-case letters, digits, '-' and '_' "
            "(at most 63, starting with a letter or digit)"
        )
    return name


@dataclass(frozen=True)
class DatasetFiles:
    """One dataset's config folder, `configs/datasets/NAME/`."""

    name: str
    folder: Path

    @property
    def data_config(self) -> Path:
        """Sources, reader options, columns, target, key, split, quarantine limit, schema file."""
        return self.folder / "data.yaml"

    @property
    def features_config(self) -> Path:
        return self.folder / "features.yaml"

    @property
    def train_config(self) -> Path:
        return self.folder / "train.yaml"

    @property
    def gate_config(self) -> Path:
        return self.folder / "gate.yaml"

    @property
    def retrain_config(self) -> Path:
        """Optional: cooldown and the promotion rule of `tabship-models retrain`."""
        return self.folder / "retrain.yaml"


@dataclass(frozen=True)
class Project:
    """Where a project's configs, data, registry and outputs live. Paths are absolute."""

    root: Path
    store: Path
    tracking_uri: str
    default_dataset: str | None = None
    # The monitoring folder (prediction log, shadow log, labels): see tabship.data.logpaths.
    # None: `monitoring/` under the root.
    log_root: Path | None = None
    # The team's object store (TABSHIP_DATA_STORE=s3://bucket/prefix): shared dataset versions and
    # the promotion lease. `store` is then this machine's copy under the root. None: one machine.
    remote_store: str | None = None

    @property
    def monitoring(self) -> Path:
        """Where the service logs predictions and the monitor and the retrain read them."""
        return self.log_root or self.root / "monitoring"

    def model_logs(self, model_name: str) -> ModelLogs:
        """One model's folder in the monitoring folder."""
        return ModelLogs.under(self.monitoring, model_name)

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def datasets_folder(self) -> Path:
        return self.root / DATASETS

    def dataset_names(self) -> list[str]:
        """The datasets that have a folder with a data config, sorted."""
        if not self.datasets_folder.is_dir():
            return []
        return sorted(p.parent.name for p in self.datasets_folder.glob("*/data.yaml"))

    def dataset(self, name: str | None = None) -> DatasetFiles:
        """NAME's config folder (default: the project's default dataset). ConfigError when the
        project has no such dataset, naming the ones it has."""
        chosen = name or self.default_dataset
        if not chosen:
            raise ConfigError(
                f"{self.root / MARKER}: no --dataset given and no `default_dataset` set"
            )
        files = DatasetFiles(name=chosen, folder=self.datasets_folder / chosen)
        if not files.data_config.is_file():
            known = ", ".join(self.dataset_names()) or "none yet"
            raise ConfigError(
                f"{files.data_config}: no dataset {chosen!r} in this project (known: {known}); "
                "create one with `tabship-data init FILE --target COLUMN --positive VALUE`"
            )
        return files

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
    """The project rooted at ROOT, with the environment's overrides applied. Its project file is
    optional here (a folder that `tabship-data init` is about to fill has none yet)."""
    folder = Path(root).resolve()
    store = os.environ.get(STORE_ENV)
    remote = store if store and is_object_url(store) else None
    tracking = os.environ.get(TRACKING_ENV)
    settings = _project_file(folder / MARKER)
    return Project(
        root=folder,
        store=Path(store).resolve() if store and not remote else folder / "data" / "processed",
        remote_store=remote,
        tracking_uri=tracking or f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}",
        default_dataset=settings.get("default_dataset"),
        log_root=monitoring_root(folder, settings.get("prediction_log"), os.environ.get(LOG_ENV)),
    )


def _project_file(path: Path) -> dict[str, str]:
    """configs/project.yaml's settings, each a string: `default_dataset`, `prediction_log`."""
    if not path.is_file():
        return {}
    document = read_yaml_mapping(path)
    allowed = {"default_dataset": "a dataset's name", "prediction_log": "a folder"}
    unknown = sorted(set(document) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})"
        )
    for key, what in allowed.items():
        if document.get(key) is not None and not isinstance(document[key], str):
            raise ConfigError(f"{path}: {key} must be {what}")
    return {key: value for key, value in document.items() if value is not None}


def find_project(explicit: Path | str | None = None, start: Path | None = None) -> Project:
    """EXPLICIT, else $TABSHIP_PROJECT, else the nearest folder at or above START (the cwd) that
    holds configs/project.yaml. Raises ConfigError naming where it looked."""
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
