"""The training data: ingest through tabship.data (a no-op when the version exists), then load it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabship.data import DatasetConfig, DatasetVersion, Manifest, Project, ingest, load_dataset
from tabship.models.metrics import Labels


@dataclass(frozen=True)
class TrainingData:
    """One dataset version, split into its training and holdout rows, with 0/1 labels."""

    version: DatasetVersion
    target: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    y_train: Labels
    y_holdout: Labels

    @property
    def manifest(self) -> Manifest:
        return self.version.manifest


def labels(frame: pd.DataFrame, target: str, positive: str) -> Labels:
    """1 where the target equals the positive label, else 0."""
    return np.asarray((frame[target] == positive).to_numpy(), dtype=np.int_)


def load_version(project: Project, config: DatasetConfig, version: str = "latest") -> TrainingData:
    """A stored dataset version, as training data."""
    stored = load_dataset(config.name, version, project.store)
    train, holdout = stored.split("train"), stored.split("holdout")
    target, positive = config.target.column, config.target.positive
    return TrainingData(
        version=stored,
        target=target,
        train=train,
        holdout=holdout,
        y_train=labels(train, target, positive),
        y_holdout=labels(holdout, target, positive),
    )


def load_training_data(
    project: Project, config: DatasetConfig, progress: Callable[[str], None] | None = None
) -> TrainingData:
    """Ingest the configured sources (idempotent: an existing version is reused), then load it."""
    result = ingest(config, store=project.store)
    if progress is not None:
        progress(
            f"ingest: {result.rows_in} rows read, {result.rows_accepted} accepted, "
            f"{result.rows_quarantined} quarantined -> version {result.version}"
        )
    return load_version(project, config, result.version)
