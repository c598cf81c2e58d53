"""Champion against challenger on the same holdout rows: DeLong's paired test of two ROC-AUCs.

Both models score the same rows, so their AUCs are correlated; comparing two independent
intervals would be far too cautious, and comparing point estimates would promote noise. DeLong,
DeLong and Clarke-Pearson (1988) give the covariance of the two AUCs from each row's structural
components; this is Sun and Xu's (2014) O(n log n) form with midranks, so ties count one half.

The rule: promote when the lower bound of the one-sided (1 - alpha) interval for
`challenger AUC - champion AUC` is above `min_gain`. A tie (the bound at or below it) or a noisy
gain is not a promotion. No scipy: the normal quantile is the standard library's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PromotionRule:
    """How much better a challenger must be, and how sure the test must be of it."""

    min_gain: float = 0.0  # ROC-AUC points the challenger must beat the champion by
    alpha: float = 0.05  # one-sided: at most this chance of promoting a model that is not better


@dataclass(frozen=True)
class PairedAuc:
    """The paired comparison on one holdout, and its verdict under a rule."""

    rows: int
    positives: int
    champion_auc: float
    challenger_auc: float
    difference: float  # challenger - champion
    standard_error: float
    lower_bound: float  # of the one-sided (1 - alpha) interval for the difference
    p_value: float  # one-sided, for "the difference is at most min_gain"
    min_gain: float
    alpha: float

    @property
    def better(self) -> bool:
        """The challenger beats the champion by more than min_gain, beyond the test's doubt."""
        return self.lower_bound > self.min_gain

    def reason(self) -> str:
        """One line: why the challenger is, or is not, better."""
        figures = (
            f"ROC-AUC {self.challenger_auc:.4f} vs {self.champion_auc:.4f}, difference "
            f"{self.difference:+.4f}, one-sided {1 - self.alpha:.0%} lower bound "
            f"{self.lower_bound:+.4f} (DeLong, {self.rows} holdout rows)"
        )
        if self.better:
            return f"the challenger is better: {figures} > {self.min_gain:+.4f}"
        return f"not better beyond doubt: {figures} <= required gain {self.min_gain:+.4f}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "better": self.better}


def midranks(values: Floats) -> Floats:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    n = len(values)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ordered)) + 1))
    ends = np.concatenate((starts[1:], [n]))
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _components(positive: Floats, negative: Floats) -> tuple[float, Floats, Floats]:
    """The AUC and DeLong's structural components of the positive and the negative rows."""
    m, n = len(positive), len(negative)
    within_positive, within_negative = midranks(positive), midranks(negative)
    overall = midranks(np.concatenate((positive, negative)))
    auc = (overall[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v10 = (overall[:m] - within_positive) / n  # per positive: share of negatives ranked below
    v01 = 1.0 - (overall[m:] - within_negative) / m  # per negative: share of positives above
    return float(auc), v10, v01


def paired_auc(
    labels: npt.ArrayLike, first: npt.ArrayLike, second: npt.ArrayLike
) -> tuple[float, float, float]:
    """Both models' ROC-AUCs on the same rows with 0/1 LABELS, and the standard error of
    `second - first` (DeLong). ValueError when the lengths differ or a class has under 2 rows."""
    y = np.asarray(labels).astype(bool)
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if not (len(y) == len(a) == len(b)):
        raise ValueError(f"lengths differ: {len(y)} labels, {len(a)} and {len(b)} scores")
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:
        raise ValueError(f"the holdout needs 2 rows of each class, not {m} and {n}")
    auc_a, v10_a, v01_a = _components(a[y], a[~y])
    auc_b, v10_b, v01_b = _components(b[y], b[~y])
    s10 = np.cov(np.vstack((v10_a, v10_b)))
    s01 = np.cov(np.vstack((v01_a, v01_b)))
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m
    variance += (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    return auc_a, auc_b, float(np.sqrt(max(variance, 0.0)))


def compare_auc(
    labels: npt.ArrayLike,
    champion: npt.ArrayLike,
    challenger: npt.ArrayLike,
    rule: PromotionRule | None = None,
) -> PairedAuc:
    """DeLong's paired comparison of two models' scores on the same rows with 0/1 LABELS."""
    rule = rule or PromotionRule()
    auc_a, auc_b, se = paired_auc(labels, champion, challenger)
    difference = auc_b - auc_a
    normal = NormalDist()
    lower = difference - normal.inv_cdf(1 - rule.alpha) * se
    if se > 0:
        p_value = 1 - normal.cdf((difference - rule.min_gain) / se)
    else:  # identical rankings: no evidence either way unless the gain is exact and positive
        p_value = 0.0 if difference > rule.min_gain else 1.0
    y = np.asarray(labels).astype(bool)
    return PairedAuc(
        rows=len(y),
        positives=int(y.sum()),
        champion_auc=auc_a,
        challenger_auc=auc_b,
        difference=difference,
        standard_error=se,
        lower_bound=lower,
        p_value=p_value,
        min_gain=rule.min_gain,
        alpha=rule.alpha,
    )
