"""The training data: ingest through tabship.data (a no-op when the version exists), then load it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tabship.data.config import load_config
from tabship.data.ingestion import ingest
from tabship.data.load import load_dataset
from tabship.data.store import Manifest, default_store
from tabship.models.metrics import Labels


@dataclass(frozen=True)
class TrainingData:
    """One dataset version, split into its training and holdout rows, with 0/1 labels."""

    root: Path
    manifest: Manifest
    data_path: Path
    target: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    y_train: Labels
    y_holdout: Labels


def labels(frame: pd.DataFrame, target: str, positive: str) -> Labels:
    """1 where the target equals the positive label, else 0."""
    return np.asarray((frame[target] == positive).to_numpy(), dtype=np.int_)


def load_version(root: Path, dataset: str, version: str = "latest") -> TrainingData:
    """A stored dataset version, as training data."""
    config = load_config(root / "configs" / "data.yaml", dataset)
    store = default_store(root)
    frame, manifest = load_dataset(config.name, version, store)
    train = frame[frame["split"] == "train"].reset_index(drop=True)
    holdout = frame[frame["split"] == "holdout"].reset_index(drop=True)
    target = config.target.column
    return TrainingData(
        root=root,
        manifest=manifest,
        data_path=store / config.name / manifest.version,
        target=target,
        train=train,
        holdout=holdout,
        y_train=labels(train, target, config.target.positive),
        y_holdout=labels(holdout, target, config.target.positive),
    )


def load_training_data(
    root: Path, dataset: str, progress: Callable[[str], None] | None = None
) -> TrainingData:
    """Ingest the configured sources (idempotent: an existing version is reused), then load it."""
    config = load_config(root / "configs" / "data.yaml", dataset)
    result = ingest(config, store=default_store(root))
    if progress is not None:
        progress(
            f"ingest: {result.rows_in} rows read, {result.rows_accepted} accepted, "
            f"{result.rows_quarantined} quarantined -> version {result.version}"
        )
    return load_version(root, config.name, result.version)
