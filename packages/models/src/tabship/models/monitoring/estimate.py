"""The model's performance estimated without labels, in the manner of NannyML's CBPE.

Labels arrive late or never, but a calibrated probability is the chance that its row is positive.
So, from the scores alone, with p the profile's calibration map applied to each score:

- expected accuracy = mean(p where the model predicts 1 (score >= threshold), else 1 - p);
- expected ROC-AUC: walking down the raw score order, each row adds p expected positives and
  1 - p expected negatives; the area under the curve of those expected counts is the ROC-AUC a
  labelled window would most likely show (rows with the same score share their pairs half-way,
  as ROC-AUC does with ties).

This holds under covariate shift (the inputs move, P(label | inputs) does not), which is what a
calibration map fitted on the reference can transfer. It cannot see concept drift: when the
label's relation to the inputs changes, only live labels (performance.py) will tell.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tabship.models.monitoring.profile import Profile

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PerformanceEstimate:
    """Expected ROC-AUC and accuracy of one window; None when they cannot be claimed (fewer than
    min_rows rows, or, for ROC-AUC, calibrated probabilities that are all 0 or all 1)."""

    rows: int
    min_rows: int
    roc_auc: float | None
    accuracy: float | None

    @property
    def enough_data(self) -> bool:
        return self.rows >= self.min_rows

    def metrics(self) -> dict[str, float]:
        """The figures that can be claimed, by the names monitor_metrics.ESTIMATED_METRICS uses."""
        figures = {"roc_auc": self.roc_auc, "accuracy": self.accuracy}
        return {k: v for k, v in figures.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (None for figures that cannot be claimed)."""
        return {**asdict(self), "enough_data": self.enough_data}


def expected_accuracy(scores: Floats, probabilities: Floats, threshold: float) -> float:
    """The share of rows the model is expected to get right, from calibrated probabilities."""
    predicted = scores >= threshold
    return float(np.mean(np.where(predicted, probabilities, 1.0 - probabilities)))


def expected_roc_auc(scores: Floats, probabilities: Floats) -> float | None:
    """ROC-AUC with each row counted as p positives and 1 - p negatives, along the score order."""
    positives = float(probabilities.sum())
    negatives = float(len(probabilities) - positives)
    if positives <= 0.0 or negatives <= 0.0:
        return None
    distinct, group = np.unique(scores, return_inverse=True)
    pos = np.bincount(group, weights=probabilities, minlength=len(distinct))
    neg = np.bincount(group, weights=1.0 - probabilities, minlength=len(distinct))
    negatives_below = np.cumsum(neg) - neg
    pairs = float(np.sum(pos * (negatives_below + 0.5 * neg)))
    return pairs / (positives * negatives)


def estimate_performance(
    profile: Profile, scores: npt.ArrayLike, threshold: float, min_rows: int = 500
) -> PerformanceEstimate:
    """Expected ROC-AUC and accuracy (at THRESHOLD, the model's) of a window's raw SCORES, through
    PROFILE's calibration map. Fewer than MIN_ROWS scores claim nothing."""
    raw = np.asarray(scores, dtype=np.float64)
    if not np.all(np.isfinite(raw)):
        raise ValueError("estimate: every score must be a finite number")
    if len(raw) < min_rows:
        return PerformanceEstimate(len(raw), min_rows, None, None)
    probabilities = np.clip(profile.calibration.apply(raw), 0.0, 1.0)
    return PerformanceEstimate(
        rows=len(raw),
        min_rows=min_rows,
        roc_auc=expected_roc_auc(raw, probabilities),
        accuracy=expected_accuracy(raw, probabilities, threshold),
    )
