"""Fitting on a Dask cluster: one DaskLGBMClassifier fit, and cross-validation with folds from
row ids, one fit per fold, and the round count `lightgbm.cv`'s early stopping would pick from
the exact mean validation loss.

lightgbm.dask has no early stopping, and its eval_set metrics are each worker's own rows' (a
worker reports the loss of the validation rows it holds). So each fold's model trains
`num_boost_round` rounds, and the workers then score their partitions' validation rows tree by
tree (daskparts.fold_losses); the sums over partitions give each fold's mean loss per round.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tabship.models.config import METRICS, TrainConfig
from tabship.models.dask import partitions as parts
from tabship.models.dask.cluster import Placement, Split
from tabship.models.training.fit import CVResult
from tabship.models.training.metrics import binary_metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    import lightgbm as lgb
    from distributed import Future

    from tabship.features import FittedPipeline


def _classifier(cluster: Placement, config: TrainConfig, rounds: int) -> Any:
    from lightgbm import DaskLGBMClassifier

    params = {k: v for k, v in config.lightgbm_params().items() if k != "num_threads"}
    # No local_listen_port: lightgbm.dask finds a free port per worker, which several workers
    # on one host need. num_threads is each worker's thread count, set by lightgbm.dask.
    return DaskLGBMClassifier(client=cluster.client, n_estimators=rounds, **params)


def fit_booster(
    cluster: Placement,
    split: Split,
    x: list[Future[Any]],
    y: list[Future[Any]],
    pipeline: FittedPipeline,
    config: TrainConfig,
    rounds: int,
) -> lgb.Booster:
    import dask.array as da

    width, rows = len(pipeline.feature_names), split.rows
    big_x = da.concatenate(
        [
            da.from_delayed(f, shape=(n, width), dtype=np.float64)
            for f, n in zip(x, rows, strict=True)
        ]
    )
    big_y = da.concatenate(
        [da.from_delayed(f, shape=(n,), dtype=np.int_) for f, n in zip(y, rows, strict=True)]
    )
    model = _classifier(cluster, config, rounds)
    # lightgbm.dask prints its progress; stdout is for the command's result (--json).
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        # lightgbm.dask sets each worker's threads itself and says it ignores n_jobs.
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        model.fit(big_x, big_y, feature_name=pipeline.feature_names,
                  categorical_feature=pipeline.categorical_indices)  # fmt: skip
    return without_network(model.to_local().booster_)


# Parameters of one cluster's run (its hosts and ports), recorded in the model text's parameters
# block; left in, two fits of the same model would differ in them.
_NETWORK = ("[machines: ", "[local_listen_port: ", "[time_out: ", "[machine_list_filename: ")


def without_network(booster: lgb.Booster) -> lgb.Booster:
    """BOOSTER as a plain LightGBM model: the same trees, no cluster addresses in its text."""
    import lightgbm

    lines = booster.model_to_string().splitlines(keepends=True)
    kept = "".join(line for line in lines if not line.startswith(_NETWORK))
    return lightgbm.Booster(model_str=kept)


def cross_validate_on_dask(
    cluster: Placement,
    train: Split,
    x: list[Future[Any]],
    y: list[Future[Any]],
    fold: list[Future[Any]],
    pipeline: FittedPipeline,
    config: TrainConfig,
    say: Callable[[str], None],
) -> tuple[CVResult, list[Future[Any]]]:
    from distributed import wait

    boosters = []
    for index in range(config.folds):
        say(f"CV: fold {index + 1} of {config.folds}, {config.num_boost_round} rounds")
        keep = cluster.each(train, parts.outside, fold, index=index)
        fx = cluster.each(train, parts.rows_where, x, keep)
        fy = cluster.each(train, parts.rows_where, y, keep)
        wait([*fx, *fy])
        rows = cluster.client.gather(cluster.each(train, parts.length, fy))
        used = [i for i, n in enumerate(rows) if n]  # a worker without rows breaks LightGBM
        sub = Split(
            [train.workers[i] for i in used], [fx[i] for i in used], [rows[i] for i in used]
        )
        rounds = config.num_boost_round
        boosters.append(
            fit_booster(cluster, sub, sub.frames, [fy[i] for i in used], pipeline, config, rounds)
        )
        del keep, fx, fy, sub  # the fold's copies leave the workers' memory
    losses = cluster.client.gather(
        cluster.each(
            train, parts.fold_losses, x, y, fold, boosters=boosters, rounds=config.num_boost_round
        )
    )
    sums = np.sum([s for s, _ in losses], axis=0)
    counts = np.sum([c for _, c in losses], axis=0)
    best = best_round(np.mean(sums / counts[:, None], axis=0), config.early_stopping_rounds)
    oof = cluster.each(train, parts.out_of_fold, x, fold, boosters=boosters, rounds=best)
    scores = cluster.client.gather(oof)
    labels = cluster.client.gather(y)
    folds = cluster.client.gather(fold)
    all_scores, all_labels, all_folds = (
        np.concatenate(scores),
        np.concatenate(labels),
        np.concatenate(folds),
    )
    per_fold = [
        binary_metrics(all_labels[all_folds == i], all_scores[all_folds == i], config.threshold)
        for i in range(config.folds)
    ]
    mean = {m: float(np.mean([f[m] for f in per_fold])) for m in METRICS}
    std = {m: float(np.std([f[m] for f in per_fold])) for m in METRICS}
    return CVResult(per_fold, mean, std, best, np.empty(0)), oof


def best_round(mean_loss: npt.NDArray[np.float64], patience: int) -> int:
    """The round count `lightgbm.cv`'s early stopping picks from the mean validation loss: the
    best round so far, once `patience` rounds have not improved on it (or the last round)."""
    best, best_loss = 0, float("inf")
    for step, loss in enumerate(mean_loss):
        if loss < best_loss:
            best, best_loss = step, float(loss)
        elif step - best >= patience:
            break
    return best + 1
