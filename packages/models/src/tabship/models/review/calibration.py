"""Calibration and score distributions of a model on labelled rows, for a side-by-side view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tabship.models.training.metrics import Labels, Scores

BINS = 10  # equal-width bins over [0, 1]: the same bins for both models, so they line up
HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class Calibration:
    """The reliability curve (non-empty bins), the expected calibration error, and the share of
    rows in each histogram bin of the scores."""

    ece: float
    predicted: list[float]
    observed: list[float]
    counts: list[int]
    histogram: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ece": self.ece, "predicted": self.predicted, "observed": self.observed,
                "counts": self.counts, "histogram": self.histogram}  # fmt: skip


def calibration(y: Labels, score: Scores, bins: int = BINS) -> Calibration:
    """ECE: the rows-weighted mean gap between the mean score and the positive rate, per bin."""
    index = np.minimum((score * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    sums = np.bincount(index, weights=score, minlength=bins)
    positives = np.bincount(index, weights=y.astype(np.float64), minlength=bins)
    filled = counts > 0
    predicted = sums[filled] / counts[filled]
    observed = positives[filled] / counts[filled]
    ece = float(np.sum(counts[filled] * np.abs(predicted - observed)) / max(len(y), 1))
    shares, _ = np.histogram(score, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    return Calibration(
        ece=ece,
        predicted=[float(v) for v in predicted],
        observed=[float(v) for v in observed],
        counts=[int(c) for c in counts[filled]],
        histogram=[float(s) / max(len(y), 1) for s in shares],
    )
