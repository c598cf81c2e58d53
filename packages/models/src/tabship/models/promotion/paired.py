"""Two models scored on the same rows: each metric's paired difference, with its interval.

A review (review/) calls a change "better" or "worse" only when the interval for
`candidate - champion` excludes zero; otherwise "no clear change". The gate's baseline check
(gate.py) reads the same intervals, for `candidate - baseline`. The intervals, by metric:
- ROC-AUC: DeLong's paired variance (delong.py), as promotion uses.
- Accuracy, log loss and Brier score are means of a per-row loss, so their difference is the mean
  of the per-row differences, and its interval the paired normal one (holdouts have hundreds of
  rows at least; the central limit theorem holds well there).
- F1 is not a mean of rows: a paired bootstrap over rows (both models on each resample), seeded,
  percentile interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from tabship.models.config import HIGHER_IS_BETTER, METRICS
from tabship.models.promotion.delong import paired_auc
from tabship.models.training.metrics import Labels, Scores

LEVEL = 0.95  # ROC-AUC's interval on the whole holdout: the metric the gate and promotion rank by
PRIMARY = "roc_auc"
# The four other metrics form one family, Bonferroni-corrected: each at 98.75%, so that any false
# call among them stays at most 5%. At 95% each, two models differing only in their seed were
# called different in 8-10% of trials on log loss, accuracy or Brier score alone (measured in
# the models package's tests/review/test_honesty.py): seeds make genuinely different models, and
# a paired test on thousands of rows sees it.
SECONDARY_LEVEL = 1 - (1 - LEVEL) / (len(METRICS) - 1)
DRAWS = 2000  # the bootstrap's resamples (F1 only)
CHUNK = 100  # resamples drawn at once: 100 x the rows of int64 indices
EPS = float(np.finfo(np.float64).eps)  # scikit-learn's clipping of log loss
BETTER, WORSE, UNCLEAR = "better", "worse", "no clear change"


@dataclass(frozen=True)
class Difference:
    """One metric for both models on the same rows, and `candidate - champion` with its interval."""

    metric: str
    champion: float
    candidate: float
    difference: float
    low: float
    high: float
    level: float  # the interval's coverage
    method: str

    @property
    def call(self) -> str:
        """Better, worse or no clear change, from the interval alone."""
        if self.low <= 0.0 <= self.high or np.isnan(self.low):
            return UNCLEAR
        improved = bool(self.low > 0.0) is HIGHER_IS_BETTER[self.metric]
        return BETTER if improved else WORSE

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "call": self.call}


def _losses(metric: str, y: Labels, score: Scores, threshold: float) -> Scores:
    """Each row's contribution to a metric that is a mean of rows."""
    truth = y.astype(np.float64)
    if metric == "accuracy":
        return np.asarray((score >= threshold) == (truth > 0), dtype=np.float64)
    if metric == "brier":
        return np.asarray((score - truth) ** 2, dtype=np.float64)
    clipped = np.clip(score, EPS, 1 - EPS)
    return np.asarray(-(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped)),
                      dtype=np.float64)  # fmt: skip


def _normal_interval(
    metric: str, y: Labels, a: Scores, b: Scores, threshold: float, level: float
) -> Difference:
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    first, second = _losses(metric, y, a, threshold), _losses(metric, y, b, threshold)
    rows = second - first
    mean = float(rows.mean())
    half = z * float(rows.std(ddof=1)) / np.sqrt(len(rows)) if len(rows) > 1 else float("nan")
    return Difference(metric, float(first.mean()), float(second.mean()), mean,
                      mean - half, mean + half, level, "paired normal")  # fmt: skip


def _f1(y: np.ndarray, label: np.ndarray, axis: int | None = None) -> Any:
    true_positive = (y & label).sum(axis=axis)
    wrong = (y ^ label).sum(axis=axis)  # false positives and false negatives
    denominator = 2 * true_positive + wrong
    return np.where(denominator > 0, 2 * true_positive / np.maximum(denominator, 1), 0.0)


def _bootstrap_f1(
    y: Labels, a: Scores, b: Scores, threshold: float, level: float, seed: int
) -> Difference:
    truth = y.astype(bool)
    first, second = a >= threshold, b >= threshold
    rng = np.random.default_rng(seed)
    differences = []
    for start in range(0, DRAWS, CHUNK):
        rows = rng.integers(0, len(y), size=(min(CHUNK, DRAWS - start), len(y)))
        resampled = truth[rows]
        differences.append(_f1(resampled, second[rows], 1) - _f1(resampled, first[rows], 1))
    drawn = np.concatenate(differences)
    tail = (1 - level) / 2
    low, high = np.quantile(drawn, [tail, 1 - tail])
    f1_a, f1_b = float(_f1(truth, first)), float(_f1(truth, second))
    return Difference("f1", f1_a, f1_b, f1_b - f1_a, float(low), float(high), level,
                      f"paired bootstrap, {DRAWS} resamples")  # fmt: skip


def compare(
    y: Labels,
    champion: Scores,
    candidate: Scores,
    threshold: float,
    level: float = LEVEL,
    metrics: tuple[str, ...] = METRICS,
    seed: int = 0,
    secondary_level: float | None = SECONDARY_LEVEL,
) -> list[Difference]:
    """Each of METRICS for both models on the rows with labels Y, with the interval of the
    difference: at LEVEL for ROC-AUC, at SECONDARY_LEVEL for the others (None: LEVEL too). A
    metric that cannot be measured on these rows (ROC-AUC with under 2 rows of a class) has NaN
    bounds, and is not called."""
    found = []
    for metric in metrics:
        if metric != PRIMARY and secondary_level is not None:
            found += compare(y, champion, candidate, threshold, secondary_level, (metric,), seed,
                             None)  # fmt: skip
            continue
        z = NormalDist().inv_cdf(1 - (1 - level) / 2)
        if metric == "roc_auc":
            try:
                auc_a, auc_b, se = paired_auc(y, champion, candidate)
            except ValueError:
                nan = float("nan")
                found.append(Difference(metric, nan, nan, nan, nan, nan, level, "DeLong"))
                continue
            gap = auc_b - auc_a
            found.append(Difference(metric, auc_a, auc_b, gap, gap - z * se, gap + z * se,
                                    level, "DeLong"))  # fmt: skip
        elif metric == "f1":
            found.append(_bootstrap_f1(y, champion, candidate, threshold, level, seed))
        else:
            found.append(_normal_interval(metric, y, champion, candidate, threshold, level))
    return found
