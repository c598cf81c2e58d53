"""The training data: ingest through tabship.data (a no-op when the version exists), then load it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from tabship.data import (
    DatasetConfig,
    DatasetVersion,
    Manifest,
    Project,
    fetch_version,
    ingest,
    load_dataset,
    share_version,
)
from tabship.models.training.metrics import Labels


@dataclass(frozen=True)
class TrainingData:
    """One dataset version, split into its training and holdout rows, with 0/1 labels."""

    version: DatasetVersion
    target: str
    train: pd.DataFrame
    holdout: pd.DataFrame
    y_train: Labels
    y_holdout: Labels
    # The training rows' count when `train` holds a sample of them (the Dask engine's profile
    # sample: the rows themselves stay on the cluster).
    train_rows: int | None = None

    @property
    def manifest(self) -> Manifest:
        return self.version.manifest

    @property
    def rows_trained(self) -> int:
        return self.train_rows if self.train_rows is not None else len(self.train)


def labels(frame: pd.DataFrame, target: str, positive: str) -> Labels:
    """1 where the target equals the positive label, else 0."""
    return np.asarray((frame[target] == positive).to_numpy(), dtype=np.int_)


def load_version(
    project: Project,
    config: DatasetConfig,
    version: str = "latest",
    columns: Sequence[str] | None = None,
    categories: Sequence[str] = (),
) -> TrainingData:
    """A stored dataset version, as training data: only COLUMNS (and `split`) when given, the
    CATEGORIES as pandas categoricals, and then the whole frame is let go once it is split."""
    picked = [*dict.fromkeys([*columns, "split"])] if columns is not None else None
    wanted = [*categories, "split"] if columns is not None else categories
    version = fetch_version(project, config.name, version)  # from the team store, when there is one
    stored = load_dataset(config.name, version, project.store, columns=picked, categories=wanted)
    train, holdout = stored.split("train"), stored.split("holdout")
    if columns is not None:
        # Only the split copies stay: a slice (iloc[:0]) would be a view keeping every row.
        stored = replace(stored, frame=pd.DataFrame(columns=stored.frame.columns))
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
    project: Project,
    config: DatasetConfig,
    progress: Callable[[str], None] | None = None,
    columns: Sequence[str] | None = None,
    categories: Sequence[str] = (),
    version: str | None = None,
) -> TrainingData:
    """Ingest the configured sources (idempotent: an existing version is reused), then load it
    (COLUMNS and CATEGORIES: see `load_version`). A caller that has just ingested (a retrain)
    hands its VERSION, and the raw files are not read and hashed a second time."""
    if version is not None:
        return load_version(project, config, version, columns, categories)
    result = ingest(config, store=project.store)
    if progress is not None:
        progress(
            f"ingest: {result.rows_in} rows read, {result.rows_accepted} accepted, "
            f"{result.rows_quarantined} quarantined -> version {result.version}"
        )
    if share_version(project, config.name, result.version) and progress is not None:
        progress(f"ingest: version {result.version} shared in {project.remote_store}")
    return load_version(project, config, result.version, columns, categories)
