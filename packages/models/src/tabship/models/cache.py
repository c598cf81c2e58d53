"""The training cache: a finished run is reused when nothing that shapes it has changed.

The key covers the raw source files, every config file, the code of the packages that train, and the
tracking URI. This module imports nothing heavy (no pandas, LightGBM or MLflow), so that a no-op
`train` answers within a second.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tabship.data.config import load_config
from tabship.models.config import load_train_config
from tabship.models.result import TrainResult
from tabship.models.tracking import tracking_uri

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


def cache_key(root: Path, dataset: str, uri: str) -> str:
    """sha256 over everything a training run depends on."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}:{len(data)}:".encode())
        digest.update(data)

    data_config = load_config(root / "configs" / "data.yaml", dataset)
    for path in (*data_config.train_sources, *data_config.holdout_sources):
        add(f"source {path.name}", hashlib.sha256(path.read_bytes()).digest())
    configs = root / "configs"
    used = [configs / "data.yaml", data_config.schema_path]
    used += [configs / name for name in ("features.yaml", "train.yaml", "gate.yaml")]
    for path in used:
        add(f"config {path.name}", path.read_bytes())
    for package in CODE_PACKAGES:
        for path in _package_files(package):
            add(f"code {package}/{path.name}", path.read_bytes())
    for library in LIBRARIES:
        add(f"library {library}", importlib.metadata.version(library).encode())
    add("tracking", uri.encode())
    return digest.hexdigest()


def cache_folder(root: Path) -> Path:
    """Records live beside the tracking store, so that deleting mlruns/ forgets them too."""
    return root / "mlruns" / CACHE_FOLDER


def read_record(root: Path, key: str) -> dict[str, Any] | None:
    """The record of a finished run with this key, or None."""
    path = cache_folder(root) / f"{key}.json"
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    card = record.get("card_path")
    if card and not Path(card).exists():
        return None
    return record


def write_record(root: Path, key: str, record: dict[str, Any]) -> None:
    """Write atomically: a run only counts as cached once its record is complete."""
    folder = cache_folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{key}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(record, out, indent=2, sort_keys=True)
    Path(temporary).replace(folder / f"{key}.json")


def lookup(root: Path, force: bool = False) -> tuple[str, TrainResult | None]:
    """The cache key for the current inputs, and the finished run it names (None when FORCE)."""
    config = load_train_config(root / "configs" / "train.yaml")
    key = cache_key(root, config.dataset, tracking_uri(root))
    record = None if force else read_record(root, key)
    if record is None:
        return key, None
    return key, TrainResult(**{**record, "cached": True})
