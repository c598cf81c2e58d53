"""The Dask engine's training: the single-process job's steps, with the rows spread over workers.

- Ingest: `tabship.data.ingest_partitioned`, one task per source partition.
- Placement: partition i of each split is read by worker i mod n (workers in name order) and every
  later task on it runs there too, and the arrays are computed (persisted) and waited for before
  any fit. With work stealing off (cluster.py) the same cluster shape gives the same model.
  Partitions without rows are left out: a LightGBM worker without data breaks training.
- Features: the pipeline is fitted from per-partition statistics, the category counts of each
  partition's training rows summed on the driver, which is exactly what one fit on all the rows
  learns (`tabship.features.fit_counts`); no sample.
- CV: each row's fold comes from its row id (no shuffle). One `DaskLGBMClassifier` per fold trains
  `num_boost_round` rounds; the validation log loss of every round is then computed on the
  workers tree by tree, and the round count is chosen by the rule of `lightgbm.cv`'s early
  stopping on the mean loss over folds. The final model trains that many rounds on all rows.
- What comes back to the driver: the holdout's columns and scores (for the metrics, groups and
  card), each training row's out-of-fold score and label (fold metrics), and a sample of about
  `dask.profile_rows` training rows for the monitoring reference.
- The registered model is `to_local()`'s booster: a normal LightGBM text model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tabship.data import (
    ConfigError,
    concat_parts,
    ingest_partitioned,
    open_version,
    share_version,
)
from tabship.features import add_counts, category_counts, fit_counts
from tabship.models.config import RunConfig, TrainConfig
from tabship.models.dask import partitions as parts
from tabship.models.dask.cluster import Placement, Split, dask_client
from tabship.models.dask.fit import cross_validate_on_dask, fit_booster
from tabship.models.progress import Progress
from tabship.models.training.data import TrainingData
from tabship.models.training.fit import CVResult
from tabship.models.training.metrics import binary_metrics, group_metrics

if TYPE_CHECKING:
    from distributed import Future

    from tabship.data import Project
    from tabship.models.training.fit import Trained


def train_on_dask(
    project: Project, run: RunConfig, say: Progress
) -> tuple[TrainingData, Trained, float]:
    """Ingest, fit and score DATASET on the configured cluster; also the ingest's seconds."""
    config = run.train
    if run.gate.baseline:
        raise ConfigError(
            f"{run.files.gate_config}: the dask engine does not fit the gate's baseline yet; "
            "use the single engine"
        )
    where = config.dask.scheduler or f"a LocalCluster of {config.dask.workers} workers on 127.0.0.1"
    say(f"dask: connecting to {where}")
    with dask_client(config.dask) as client:
        started = time.perf_counter()
        result = ingest_partitioned(client, run.data, store=project.store, progress=say)
        say(
            f"ingest: {result.rows_in} rows read, {result.rows_accepted} accepted, "
            f"{result.rows_quarantined} quarantined -> version {result.version}"
        )
        share_version(project, run.data.name, result.version)
        ingest_seconds = time.perf_counter() - started
        version = open_version(run.data.name, result.version, project.store)
        data, trained = _fit(Placement(client), run, version.data_files, version, say)
        return data, trained, ingest_seconds


def _columns(run: RunConfig) -> tuple[list[str], list[str]]:
    """The single engine's columns, and the row id (the CV folds and the sample draw on it)."""
    from tabship.models.training.fit import training_columns

    columns, categories = training_columns(run)
    return [*columns, "row_id"], categories


def _fit(
    cluster: Placement, run: RunConfig, files: list[Path], version: Any, say: Progress
) -> tuple[TrainingData, Trained]:
    from distributed import wait

    from tabship.models.training.fit import Trained

    config, spec = run.train, run.features
    target, positive = run.data.target.column, run.data.target.positive
    columns, categories = _columns(run)
    train = cluster.read(files, columns, categories, "train")
    holdout = cluster.read(files, columns, categories, "holdout")
    if not train.total or not holdout.total:
        raise ConfigError(f"{run.data.name}: the version has no training or no holdout rows")
    say(
        f"features: fit on {train.total} training rows, from {len(train.frames)} partitions' counts"
    )
    counts = cluster.client.gather(cluster.each(train, category_counts, train.frames, spec=spec))
    total: dict[str, dict[str, int]] = {}
    for part in counts:
        total = add_counts(total, part)
    pipeline = fit_counts(spec, total, train.total)
    x = cluster.each(train, parts.matrix, train.frames, pipeline=pipeline)
    y = cluster.each(train, parts.labels, train.frames, target=target, positive=positive)
    fold = cluster.each(train, parts.folds, train.frames, count=config.folds)
    wait([*x, *y, *fold])  # persisted before any fit: the same data, in the same place
    cv, oof_parts = cross_validate_on_dask(cluster, train, x, y, fold, pipeline, config, say)
    say(f"final fit: {cv.best_iteration} rounds on all {train.total} training rows")
    booster = fit_booster(cluster, train, x, y, pipeline, config, cv.best_iteration)
    hold_x = cluster.each(holdout, parts.matrix, holdout.frames, pipeline=pipeline)
    score = np.concatenate(
        cluster.client.gather(cluster.each(holdout, parts.scores, hold_x, booster=booster))
    )
    hold_frame = concat_parts(cluster.client.gather(holdout.frames), categories)
    y_holdout = np.asarray((hold_frame[target] == positive).to_numpy(), dtype=np.int_)
    sample, y_sample, oof_sample = _profile_sample(cluster, train, y, oof_parts, config)
    data = TrainingData(
        version=version, target=target, train=sample, holdout=hold_frame, y_train=y_sample,
        y_holdout=y_holdout, train_rows=train.total,
    )  # fmt: skip
    cv = CVResult(folds=cv.folds, mean=cv.mean, std=cv.std, best_iteration=cv.best_iteration,
                  oof=oof_sample)  # fmt: skip
    holdout_metrics = binary_metrics(y_holdout, score, config.threshold)
    groups = group_metrics(hold_frame, y_holdout, score, config.groups, config.threshold,
                           config.min_group_size)  # fmt: skip
    return data, Trained(pipeline, booster, cv, score, holdout_metrics, groups, config)


def _profile_sample(
    cluster: Placement,
    train: Split,
    y: list[Future[Any]],
    oof: list[Future[Any]],
    config: TrainConfig,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """About `dask.profile_rows` training rows (a per-row draw), their labels and OOF scores."""
    fraction = min(1.0, config.dask.profile_rows / train.total)
    keep = cluster.each(train, parts.sampled, train.frames, fraction=fraction)
    frames = cluster.client.gather(cluster.each(train, parts.frame_rows, train.frames, keep))
    labels = cluster.client.gather(cluster.each(train, parts.rows_where, y, keep))
    scores = cluster.client.gather(cluster.each(train, parts.rows_where, oof, keep))
    categories = [
        c for c in frames[0].columns if isinstance(frames[0][c].dtype, pd.CategoricalDtype)
    ]
    return concat_parts(frames, categories), np.concatenate(labels), np.concatenate(scores)
