"""Scoring without any web framework: records or columns in, probabilities and labels out.

The service, `predict --local` and the tests all call this, so HTTP adds transport and nothing
else. Small requests never build a DataFrame (records go straight to the pipeline's matrix), and
they predict on one thread: LightGBM's OpenMP pool costs more than a few rows take to score.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tabship.features import FittedPipeline
from tabship.serving.runtime.artifact import Artifact, ModelFacts
from tabship.serving.runtime.singlerow import single_row

Vector = npt.NDArray[np.float64]
# Up to this many rows, one thread is faster than waking the OpenMP pool (and has no tail latency).
SINGLE_THREAD_ROWS = 256


@dataclass(frozen=True)
class Scored:
    """Scores of one request, with what the inputs looked like (for metrics and the log), and
    the version of the model that made them: it travels with the scores, so an answer or a log
    line can never name a model swapped in after scoring."""

    probability: Vector
    label: npt.NDArray[np.int_]
    prediction_ids: list[str]
    matrix: Vector
    model_version: str
    unseen: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Contribution:
    """One feature's share of a record's log-odds."""

    feature: str
    value: float | None
    contribution: float


class Scorer:
    """A loaded model: booster, fitted pipeline, threshold and version."""

    def __init__(self, artifact: Artifact) -> None:
        self.booster = artifact.booster
        self.pipeline: FittedPipeline = artifact.pipeline
        self.facts: ModelFacts = artifact.facts
        self.fields = artifact.fields
        self.nullable = [f.name for f in artifact.fields if f.nullable]
        # /predict_one's row through LightGBM's single-row C API (singlerow.py): the same
        # probability as Booster.predict, without its 100 us of Python per call.
        self._single = single_row(self.booster, self.booster.num_feature())

    @property
    def version(self) -> str:
        """The registered model version being served."""
        return self.facts.model_version

    def _predict(self, matrix: Vector, **params: Any) -> npt.NDArray[np.float64]:
        if not params and len(matrix) == 1 and self._single is not None:
            return self._single(matrix[0])
        if len(matrix) <= SINGLE_THREAD_ROWS:
            params["num_threads"] = 1
        return np.asarray(self.booster.predict(matrix, **params), dtype=np.float64)

    def _finish(self, matrix: Vector, unseen: dict[str, int], missing: dict[str, int]) -> Scored:
        probability = self._predict(matrix)
        # One random prefix per request plus the row number: unique, and cheap for 100,000 rows.
        # 128 bits from Python's generator (seeded from the OS, reseeded in a forked child): an
        # id needs to be unique, not secret, and os.urandom's system call per request cost 2% of
        # a /predict_one. The same 32 hex digits as a UUID's.
        prefix = f"{random.getrandbits(128):032x}"
        return Scored(
            probability=probability,
            label=(probability >= self.facts.threshold).astype(np.int_),
            prediction_ids=[f"{prefix}-{i}" for i in range(len(probability))],
            matrix=matrix,
            model_version=self.version,
            unseen=unseen,
            missing={k: v for k, v in missing.items() if v},
        )

    def score_records(self, records: Sequence[Mapping[str, Any]]) -> Scored:
        """Score validated records (dicts). Raises UnseenCategoryError under the `error` policy."""
        pipeline = self.pipeline
        if len(records) == 1:
            transformed = pipeline.transform_one(records[0])
        else:
            transformed = pipeline.transform_records(records)
        missing = {n: sum(1 for r in records if r.get(n) is None) for n in self.nullable}
        return self._finish(transformed.matrix, transformed.unseen, missing)

    def score_columns(self, columns: Mapping[str, Sequence[Any]]) -> Scored:
        """Score validated equal-length columns: the bulk path, one DataFrame per request."""
        frame = pd.DataFrame({name: list(values) for name, values in columns.items()})
        transformed = self.pipeline.transform(frame)
        missing = {n: sum(1 for v in columns[n] if v is None) for n in self.nullable}
        return self._finish(transformed.matrix, transformed.unseen, missing)

    def explain(self, matrix: Vector, top_k: int) -> tuple[list[float], list[list[Contribution]]]:
        """Each row's base value and its TOP_K largest feature contributions (log-odds units)."""
        contrib = self._predict(matrix, pred_contrib=True)
        names = self.pipeline.feature_names
        base = contrib[:, -1].tolist()
        out: list[list[Contribution]] = []
        for row, values in zip(contrib[:, :-1], matrix, strict=True):
            order = np.argsort(-np.abs(row), kind="stable")[:top_k]
            out.append(
                [
                    Contribution(
                        feature=names[i],
                        value=None if np.isnan(values[i]) else float(values[i]),
                        contribution=float(row[i]),
                    )
                    for i in order
                ]
            )
        return base, out
