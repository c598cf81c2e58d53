"""The training cache: a finished run is reused when nothing that shapes it has changed.

The key covers the raw source files (feedback files too), the configs training reads, the code of
the packages that train, the library versions and the tracking URI. This module imports nothing
heavy (no pandas, LightGBM or MLflow), so that a no-op `train` answers within a second.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from tabship.data import ConfigError, Project, atomic_write_json, file_sha256
from tabship.models.config import RunConfig
from tabship.models.result import TrainResult

CACHE_FOLDER = "tabship-cache"
CODE_PACKAGES = ("tabship.data", "tabship.features", "tabship.models")
LIBRARIES = ("lightgbm", "numpy", "pandas", "scikit-learn", "polars", "pandera")


def _package_files(package: str) -> list[Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot locate {package}")
    return sorted(
        path for folder in spec.submodule_search_locations for path in Path(folder).rglob("*.py")
    )


def config_files(project: Project, run: RunConfig) -> list[Path]:
    """The config files a training run reads, in a fixed order."""
    return [
        run.files.data_config,
        run.data.schema_path,
        run.files.features_config,
        run.files.train_config,
        run.files.gate_config,
    ]


def cache_key(project: Project, run: RunConfig, review: bool = False) -> str:
    """sha256 over everything a training run depends on. Each raw file is hashed once per
    process (tabship.data.file_sha256 remembers it), so the ingest that follows does not again."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}:{len(data)}:".encode())
        digest.update(data)

    for path in (*run.data.train_sources, *run.data.holdout_sources):
        add(f"source {path.name}", file_sha256(path).encode())
    for path in run.data.feedback_sources():  # appended production rows are data too
        add(f"feedback {path.name}", file_sha256(path).encode())
    for path in config_files(project, run):
        add(f"config {path.name}", path.read_bytes())
    for package in CODE_PACKAGES:
        for path in _package_files(package):
            add(f"code {package}/{path.name}", path.read_bytes())
    for library in LIBRARIES:
        add(f"library {library}", importlib.metadata.version(library).encode())
    add("tracking", project.tracking_uri.encode())
    add("engine", run.train.engine.encode())  # a Dask model differs slightly from a local one
    if review:  # a review's run moves no alias: a later `train` must not take it for its own
        add("mode", b"review")
    return digest.hexdigest()


def cache_folder(project: Project) -> Path:
    """Records live beside the tracking store, so that deleting mlruns/ forgets them too."""
    return project.mlruns / CACHE_FOLDER


def read_record(project: Project, key: str) -> TrainResult | None:
    """The finished run with this key, or None."""
    path = cache_folder(project) / f"{key}.json"
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    card = record.get("card_path")
    if card:  # stored relative to the project: a CI job in another folder finds it too
        card = str(project.root / card)
        record["card_path"] = card
    if card and not Path(card).exists():
        return None
    if not _registered(project, str(record.get("model_name")), str(record.get("model_version"))):
        return None
    return TrainResult(**{**record, "cached": True})


def _registered(project: Project, name: str, version: str) -> bool:
    """Whether the embedded registry still holds NAME's VERSION: a record is trusted only then.
    Read with the standard library's sqlite3 (no MLflow: the cached answer stays light). A file
    that is not a readable database is a ConfigError, not a cached success. A tracking server is
    trusted as it is (checking it would cost MLflow's import)."""
    if not project.uses_embedded_tracking:
        return True
    database = project.tracking_uri.removeprefix("sqlite:///")
    if not Path(database).is_file():
        return False
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
            found = db.execute(
                "SELECT 1 FROM model_versions WHERE name = ? AND version = ? LIMIT 1",
                (name, int(version)),
            ).fetchone()
    except (sqlite3.DatabaseError, ValueError) as error:
        raise ConfigError(
            f"{database}: the registry cannot be read ({error}); restore it from a backup, or "
            "move it away to start an empty one"
        ) from None
    return found is not None


def write_record(project: Project, key: str, result: TrainResult) -> None:
    """Write atomically: a run only counts as cached once its record is complete."""
    record = {k: v for k, v in result.to_dict().items() if k != "cached"}
    card = Path(result.card_path)
    if card.is_absolute() and card.is_relative_to(project.root):
        record["card_path"] = str(card.relative_to(project.root))
    atomic_write_json(cache_folder(project) / f"{key}.json", record)
