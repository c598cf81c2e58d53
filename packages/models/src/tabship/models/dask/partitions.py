"""What Dask workers do to one partition of a dataset version: plain functions of pandas and numpy.

The driver (dasktrain.py) submits each to the worker that holds the partition. Nothing here
knows about the cluster, and each function returns a small result or a partition-sized array.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from pathlib import Path

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from tabship.data import row_fraction
from tabship.features import FittedPipeline
from tabship.models.training.fit import Matrix
from tabship.models.training.metrics import Labels, Scores

Folds = npt.NDArray[np.int8]
Mask = npt.NDArray[np.bool_]
# Salts of the per-row draws, independent of the split's (row_fraction's default salt).
FOLD_SALT = 0x243F6A8885A308D3
SAMPLE_SALT = 0x13198A2E03707344
_EPSILON = 1e-15  # scores are clipped as sklearn's log_loss clips them


def read_split(
    path: Path, columns: Sequence[str], categories: Sequence[str], split: str
) -> pd.DataFrame:
    """One data file's rows of SPLIT: only COLUMNS, CATEGORIES as pandas categoricals."""
    return pd.read_parquet(
        path,
        columns=list(columns),
        filters=[("split", "==", split)],
        read_dictionary=list(categories),
    )


def matrix(frame: pd.DataFrame, pipeline: FittedPipeline) -> Matrix:
    return pipeline.transform(frame).matrix


def labels(frame: pd.DataFrame, target: str, positive: str) -> Labels:
    return np.asarray((frame[target] == positive).to_numpy(), dtype=np.int_)


def folds(frame: pd.DataFrame, count: int) -> Folds:
    """Each row's CV fold, from its row id alone: the same row is in the same fold in every run,
    on any cluster, with no shuffle (stratified in expectation, as the hash split is)."""
    draw = row_fraction(frame["row_id"].to_numpy(), FOLD_SALT)
    return np.minimum((draw * count).astype(np.int8), count - 1)


def sampled(frame: pd.DataFrame, fraction: float) -> Mask:
    """The rows of the monitoring profile's sample: a per-row draw below FRACTION."""
    return np.asarray(row_fraction(frame["row_id"].to_numpy(), SAMPLE_SALT) < fraction)


def outside(fold: Folds, index: int) -> Mask:
    """The rows that train fold INDEX's model: every other fold's."""
    return np.asarray(fold != index)


def rows_where(values: npt.NDArray[np.generic], keep: Mask) -> npt.NDArray[np.generic]:
    return values[keep]


def frame_rows(frame: pd.DataFrame, keep: Mask) -> pd.DataFrame:
    return frame[keep].reset_index(drop=True)


def length(values: Sized) -> int:
    return len(values)


def fold_losses(
    x: Matrix, y: Labels, fold: Folds, boosters: Sequence[lgb.Booster], rounds: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per fold and per boosting round, the summed log loss of this partition's rows of the
    fold, scored by the fold's model after that many rounds; and the rows per fold.

    The model is applied one tree at a time and the raw scores added up, so every round costs
    one tree: what early stopping on the mean validation loss needs, computed exactly over all
    partitions (the Dask interface has no early stopping of its own).
    """
    sums = np.zeros((len(boosters), rounds), dtype=np.float64)
    counts = np.zeros(len(boosters), dtype=np.int64)
    for index, booster in enumerate(boosters):
        rows = fold == index
        counts[index] = int(rows.sum())
        if not counts[index]:
            continue
        held, truth = x[rows], y[rows]
        raw = np.zeros(len(held), dtype=np.float64)
        for step in range(min(rounds, booster.num_trees())):
            raw += np.asarray(
                booster.predict(held, start_iteration=step, num_iteration=1, raw_score=True),
                dtype=np.float64,
            )
            score = np.clip(1.0 / (1.0 + np.exp(-raw)), _EPSILON, 1 - _EPSILON)
            sums[index, step] = -float(
                np.sum(truth * np.log(score) + (1 - truth) * np.log1p(-score))
            )
    return sums, counts


def out_of_fold(x: Matrix, fold: Folds, boosters: Sequence[lgb.Booster], rounds: int) -> Scores:
    """Each row's score from the fold model that did not train on it, after ROUNDS rounds."""
    scores = np.empty(len(x), dtype=np.float64)
    for index, booster in enumerate(boosters):
        rows = fold == index
        if rows.any():
            scores[rows] = np.asarray(booster.predict(x[rows], num_iteration=rounds), np.float64)
    return scores


def scores(x: Matrix, booster: lgb.Booster) -> Scores:
    return np.asarray(booster.predict(x), dtype=np.float64)
