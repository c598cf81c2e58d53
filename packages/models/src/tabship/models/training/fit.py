"""LightGBM training: stratified k-fold CV picks the iteration count, then one final fit.

These are pure functions of (matrix, labels, config), and `fit_model`, which chains them over a
run's training data; the wiring (data, registry) lives in jobs/train.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedKFold

from tabship.features import FeatureSpec, FittedPipeline, fit
from tabship.models.config import METRICS, RunConfig, TrainConfig
from tabship.models.progress import Progress
from tabship.models.training.data import TrainingData
from tabship.models.training.metrics import (
    GroupReport,
    Labels,
    Scores,
    binary_metrics,
    group_metrics,
)

Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class CVResult:
    """Per-fold metrics, their mean and standard deviation, the iteration count CV chose, and the
    out-of-fold scores.

    `oof[i]` is training row i's score from the fold model that did not see it: the honest score
    distribution of the training rows, which the monitoring reference profile and its calibration
    map are built from (the final model's scores on its own training rows are overconfident).
    """

    folds: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]
    best_iteration: int
    oof: Scores

    def __eq__(self, other: object) -> bool:
        """Field by field, the scores with array_equal (an array has no single truth value)."""
        if not isinstance(other, CVResult):
            return NotImplemented
        same = (self.folds, self.mean, self.std, self.best_iteration) == (
            other.folds, other.mean, other.std, other.best_iteration,
        )  # fmt: skip
        return same and bool(np.array_equal(self.oof, other.oof))

    def __hash__(self) -> int:
        return hash((self.best_iteration, self.oof.tobytes()))


def make_dataset(
    matrix: Matrix, y: Labels, feature_names: Sequence[str], categorical: Sequence[int]
) -> lgb.Dataset:
    """A LightGBM Dataset with the categorical codes marked as such.

    The raw matrix is not kept with it (the caller holds it): `lightgbm.cv` copies a kept
    matrix's rows into each fold's training and validation subsets, 0.7 KB a row for 3 folds,
    which at 10M rows was most of a single process's memory. The binned data is the same.
    """
    return lgb.Dataset(
        matrix,
        label=y,
        feature_name=list(feature_names),
        categorical_feature=list(categorical),
        free_raw_data=True,
        params={"verbose": -1},
    )


def cross_validate(
    dataset: lgb.Dataset,
    matrix: Matrix,
    y: Labels,
    config: TrainConfig,
    progress: Progress | None = None,
    watch: Sequence[Callable[..., None]] = (),
    metrics: Sequence[str] = (),
) -> CVResult:
    """Stratified k-fold CV with early stopping on the mean validation log loss across folds.

    The search (tuning/) adds WATCH callbacks (pruning, its deadline) and the METRICS they
    read; early stopping still reads the log loss alone, so the rounds chosen do not change.
    """
    splitter = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    folds = list(splitter.split(matrix, y))
    params = {**config.lightgbm_params(), "metric": ["binary_logloss", *metrics]}
    callbacks: list[Callable[..., None]] = [
        lgb.early_stopping(config.early_stopping_rounds, first_metric_only=True, verbose=False),
        *watch,
    ]
    if progress is not None:

        def report(env: lgb.callback.CallbackEnv) -> None:
            if (env.iteration + 1) % 100 == 0:
                progress(f"CV: {env.iteration + 1} rounds")

        callbacks.append(report)
    history = lgb.cv(
        params,
        dataset,
        num_boost_round=config.num_boost_round,
        folds=folds,
        callbacks=callbacks,
        return_cvbooster=True,
        seed=config.seed,
    )
    booster = history["cvbooster"]
    assert isinstance(booster, lgb.CVBooster)
    best = int(booster.best_iteration)
    per_fold = []
    oof = np.full(len(y), np.nan, dtype=np.float64)
    for fold_booster, (_, valid) in zip(booster.boosters, folds, strict=True):
        score = predict(fold_booster, matrix[valid], best)
        oof[valid] = score
        per_fold.append(binary_metrics(y[valid], score, config.threshold))
    mean = {m: float(np.mean([f[m] for f in per_fold])) for m in METRICS}
    std = {m: float(np.std([f[m] for f in per_fold])) for m in METRICS}
    return CVResult(folds=per_fold, mean=mean, std=std, best_iteration=best, oof=oof)


def fit_final(dataset: lgb.Dataset, config: TrainConfig, rounds: int) -> lgb.Booster:
    """Train on all training rows for the iteration count chosen by CV."""
    return lgb.train(config.lightgbm_params(), dataset, num_boost_round=rounds)


def predict(booster: lgb.Booster, matrix: Matrix, iteration: int | None = None) -> Scores:
    """Probabilities of the positive class, as float64."""
    return np.asarray(booster.predict(matrix, num_iteration=iteration), dtype=np.float64)


@dataclass(frozen=True)
class Trained:
    """A fitted pipeline and model, with their CV and holdout results."""

    pipeline: FittedPipeline
    booster: lgb.Booster
    cv: CVResult
    score: Scores
    holdout: dict[str, float]
    groups: list[GroupReport]
    config: TrainConfig  # the one trained with: after a search, its best parameters


# A search run between the features and the CV (tuning/, wired by jobs/): given the training
# matrix, labels and fitted pipeline, it returns the config to train with.
Tuner = Callable[[Matrix, Labels, FittedPipeline, TrainConfig], TrainConfig]


def training_columns(run: RunConfig) -> tuple[list[str], list[str]]:
    """The columns a run reads (features' inputs, target, groups), and which are categorical:
    at 10M rows the rest of the version (row ids, lineage) and Python strings are gigabytes."""
    wanted = [*run.features.input_columns, run.data.target.column]
    columns = list(dict.fromkeys([*wanted, *(g.column for g in run.train.groups)]))
    return columns, [*run.features.categorical, run.data.target.column]


def fit_model(
    data: TrainingData,
    spec: FeatureSpec,
    config: TrainConfig,
    say: Progress,
    tune: Tuner | None = None,
) -> Trained:
    """Features, (with TUNE, the search), CV, final fit and holdout evaluation: no I/O beyond
    progress messages and what TUNE does."""
    say(f"features: fit on {len(data.train)} training rows (dataset {data.manifest.version})")
    pipeline = fit(data.train, spec)
    x_train = pipeline.transform(data.train).matrix
    if tune is not None:
        config = tune(x_train, data.y_train, pipeline, config)
    x_holdout = pipeline.transform(data.holdout).matrix
    say(f"CV: {config.folds} stratified folds, up to {config.num_boost_round} rounds")
    dataset = make_dataset(
        x_train, data.y_train, pipeline.feature_names, pipeline.categorical_indices
    )
    cv = cross_validate(dataset, x_train, data.y_train, config, progress=say)
    say(f"final fit: {cv.best_iteration} rounds on all {len(data.train)} training rows")
    booster = fit_final(dataset, config, cv.best_iteration)
    score = predict(booster, x_holdout)
    holdout = binary_metrics(data.y_holdout, score, config.threshold)
    groups = group_metrics(
        data.holdout, data.y_holdout, score, config.groups, config.threshold, config.min_group_size
    )
    return Trained(pipeline, booster, cv, score, holdout, groups, config)
