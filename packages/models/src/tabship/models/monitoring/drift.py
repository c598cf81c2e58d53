"""Drift of a window of live rows against the reference profile, for every feature and the score.

Each feature gets a test, a distance and a PSI:

- numeric (and the score): the two-sample Kolmogorov-Smirnov test against the profile's
  distribution function. Missing values are placed at +inf, so a change in the missing share moves
  the distance too. Both distribution functions are compared as right-continuous steps at every
  point either of them jumps, which is the exact KS statistic with ties (an integer feature such
  as age is stored with all its values). Its p-value is the Kolmogorov distribution's at the
  effective size n*m/(n+m): with ties that p-value is conservative (too large), never too small.
- categorical: the chi-squared test of homogeneity between the window's and the reference's
  counts, after pooling every category the window would expect fewer than 5 times of (and every
  category the reference never saw) into one bin, because the chi-squared approximation fails on
  small expected counts and would raise false alarms on long-tailed features (native-country).
  Its distance is the total variation (half the L1 distance) between the pooled shares.
- PSI on the reference's own bins (quantile bins and missing; categories, missing and unseen),
  with shares floored at 1e-4: reported for the dashboards, not part of the verdict.

The verdict (`DriftRule`): a feature drifts when its Benjamini-Hochberg adjusted p-value across
all the window's tests is at most `fdr` AND its distance is at least `min_distance`. The p-value
alone alarms on every large window (a shift nobody cares about is significant at a million rows);
the distance alone alarms on small windows' noise; together each guards the other's weak side.
The distance is the largest share of rows whose side of some cut moved (KS) or whose category
moved (total variation), so one threshold reads the same for both kinds of feature. PSI is not
used for the verdict: 10 points of share moved between two large categories (sex) give a PSI of
0.04, less than the noise PSI of a 40-category feature in a window of 1,000 rows.
Below `min_rows` rows every feature says "not enough data" and carries no figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats  # type: ignore[import-untyped]  # scipy ships no types (no stubs locked)

from tabship.models.monitoring.gauges import SCORE_FEATURE
from tabship.models.monitoring.profile import (
    CategoricalProfile,
    NumericProfile,
    Profile,
    numeric_values,
)

Floats = npt.NDArray[np.float64]
Verdict = Literal["drift", "no drift", "not enough data"]
Kind = Literal["numeric", "categorical", "score"]
_PSI_FLOOR = 1e-4
_MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class DriftRule:
    """When a feature drifts: BH-adjusted p <= fdr and distance >= min_distance, in windows of
    at least min_rows rows. The defaults were measured on Adult windows of 1,000 rows (tests
    test_drift.py and test_estimate.py): false alarms in 0 and 1 of 200 windows (1 of 2,000 in a
    longer run; with fdr 0.01 it was 6 of 2,000, too many to keep 800 shifted windows free of
    a second flagged feature), and a 0.5 SD shift or 10 points of category share always found."""

    min_rows: int = 500
    fdr: float = 0.001
    min_distance: float = 0.05

    def __post_init__(self) -> None:
        if self.min_rows < 2 or not 0.0 < self.fdr < 1.0 or not 0.0 <= self.min_distance <= 1.0:
            raise ValueError(f"drift rule: invalid {self}")


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's test in one window. Figures are None when the window is too small."""

    feature: str
    kind: Kind
    test: Literal["ks", "chi2"]
    statistic: float | None  # KS D, or the chi-squared statistic
    p_value: float | None
    adjusted_p: float | None  # Benjamini-Hochberg across the window's features
    distance: float | None  # KS D, or the total variation distance
    psi: float | None
    verdict: Verdict


@dataclass(frozen=True)
class DriftReport:
    """The window's size, the rule applied and one result per feature (the score last)."""

    rows: int
    rule: DriftRule
    features: tuple[FeatureDrift, ...]

    @property
    def enough_data(self) -> bool:
        return self.rows >= self.rule.min_rows

    @property
    def drifted(self) -> list[str]:
        """The features whose verdict is drift."""
        return [f.feature for f in self.features if f.verdict == "drift"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (None for figures that cannot be claimed)."""
        return {
            "rows": self.rows,
            "enough_data": self.enough_data,
            "rule": asdict(self.rule),
            "drifted": self.drifted,
            "features": [asdict(f) for f in self.features],
        }


@dataclass(frozen=True)
class _Measured:
    statistic: float
    p_value: float
    distance: float
    psi: float


def psi(reference: Floats, window: Floats) -> float:
    """Population stability index between two share vectors over the same bins."""
    r = np.maximum(reference, _PSI_FLOOR)
    w = np.maximum(window, _PSI_FLOOR)
    return float(np.sum((w - r) * np.log(w / r)))


def _numeric(ref: NumericProfile, values: Floats) -> _Measured:
    """KS (missing at +inf) and PSI of one numeric column against its profile."""
    n = len(values)
    ordered = np.sort(values[~np.isnan(values)])
    # The window's distribution function (a share of all rows) at each of its distinct values...
    last = np.r_[ordered[1:] != ordered[:-1], True] if len(ordered) else np.zeros(0, dtype=bool)
    xs = ordered[last]
    window_at_xs = (np.flatnonzero(last) + 1) / n
    # ...and at the reference's points, where the reference's own steps are.
    points = np.asarray(ref.points, dtype=np.float64)
    window_at_points = np.searchsorted(ordered, points, side="right") / n
    present = 1.0 - ref.missing
    gaps = np.concatenate(
        [
            np.abs(window_at_xs - present * ref.cdf(xs)),
            np.abs(window_at_points - present * np.asarray(ref.at)),
            [abs(len(ordered) / n - present)],  # just below +inf: the missing shares differ
        ]
    )
    d = float(gaps.max())
    effective = round(n * ref.rows / (n + ref.rows))
    p = float(stats.kstwo.sf(d, effective)) if d > 0 else 1.0
    counts = np.diff(
        np.concatenate([[0], np.searchsorted(ordered, ref.edges, side="right"), [len(ordered)]])
    )
    window_shares = np.r_[counts / n, (n - len(ordered)) / n]
    reference_shares = np.r_[np.asarray(ref.shares), ref.missing]
    return _Measured(d, min(p, 1.0), d, psi(reference_shares, window_shares))


def _pool(expected: Floats, reference: Floats, window: Floats) -> tuple[Floats, Floats]:
    """Counts with every bin expected fewer than _MIN_EXPECTED times pooled into one bin, and
    that bin merged into the smallest other when it is still too small."""
    rare = expected < _MIN_EXPECTED
    ref = np.r_[reference[~rare], reference[rare].sum()]
    win = np.r_[window[~rare], window[rare].sum()]
    if expected[rare].sum() < _MIN_EXPECTED and len(ref) > 2:
        smallest = int(np.argmin(ref[:-1]))
        ref[smallest] += ref[-1]
        win[smallest] += win[-1]
        ref, win = ref[:-1], win[:-1]
    keep = (ref + win) > 0
    return ref[keep], win[keep]


def _categorical(ref: CategoricalProfile, column: pd.Series) -> _Measured:
    """Chi-squared homogeneity test (pooled), total variation and PSI of one categorical column."""
    n = len(column)
    text = column if pd.api.types.is_string_dtype(column) else column.astype("string")
    # Counted once (fast on Arrow strings), then looked up: a feature has few categories.
    counts = text.value_counts(dropna=True, sort=False)
    found = dict(zip(map(str, counts.index), counts.to_numpy().tolist(), strict=True))
    known = np.array([found.get(c, 0) for c in ref.shares], dtype=np.float64)
    present = float(sum(found.values()))
    missing = n - present
    unseen = present - known.sum()
    window = np.r_[known, missing, unseen]
    shares = np.r_[np.asarray(list(ref.shares.values()), dtype=np.float64), ref.missing, 0.0]
    reference = shares * ref.rows
    ref_pooled, win_pooled = _pool(shares * n, reference, window)
    if len(ref_pooled) < 2:
        return _Measured(0.0, 1.0, 0.0, psi(shares, window / n))
    table = np.vstack([ref_pooled, win_pooled])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    p = float(stats.chi2.sf(chi2, len(ref_pooled) - 1))
    tv = 0.5 * float(np.abs(win_pooled / n - ref_pooled / ref.rows).sum())
    return _Measured(chi2, p, tv, psi(shares, window / n))


def detect_drift(
    profile: Profile,
    window: pd.DataFrame,
    scores: npt.ArrayLike | None = None,
    rule: DriftRule | None = None,
) -> DriftReport:
    """Drift of WINDOW (the raw feature columns of the profile, one row per prediction) and of
    its SCORES (the model's, one per row; None skips the score) against PROFILE."""
    rule = rule or DriftRule()
    names = [f.name for f in profile.numeric] + [f.name for f in profile.categorical]
    absent = [c for c in names if c not in window.columns]
    if absent:
        raise ValueError(f"drift: the window lacks the columns {', '.join(absent)}")
    n = len(window)
    score_values = None if scores is None else np.asarray(scores, dtype=np.float64)
    if score_values is not None and len(score_values) != n:
        raise ValueError(f"drift: {len(score_values)} scores for a window of {n} rows")
    plan: list[tuple[str, Kind, Literal["ks", "chi2"]]] = [
        *((f.name, "numeric", "ks") for f in profile.numeric),
        *((f.name, "categorical", "chi2") for f in profile.categorical),
    ]
    if score_values is not None:
        plan.append((SCORE_FEATURE, "score", "ks"))
    if n < rule.min_rows:
        return DriftReport(
            n, rule,
            tuple(FeatureDrift(f, k, t, None, None, None, None, None, "not enough data") for f, k, t in plan),
        )  # fmt: skip
    measured = [_numeric(f, numeric_values(window[f.name])) for f in profile.numeric]
    measured += [_categorical(f, window[f.name]) for f in profile.categorical]
    if score_values is not None:
        clean = np.where(np.isfinite(score_values), score_values, np.nan)
        measured.append(_numeric(profile.score, clean))
    adjusted = _benjamini_hochberg([m.p_value for m in measured])
    results = tuple(
        FeatureDrift(
            feature=name,
            kind=kind,
            test=test,
            statistic=m.statistic,
            p_value=m.p_value,
            adjusted_p=adj,
            distance=m.distance,
            psi=m.psi,
            verdict="drift" if adj <= rule.fdr and m.distance >= rule.min_distance else "no drift",
        )
        for (name, kind, test), m, adj in zip(plan, measured, adjusted, strict=True)
    )
    return DriftReport(n, rule, results)


def _benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values: the FDR level at which each test would be rejected."""
    if not p_values:
        return []
    adjusted = stats.false_discovery_control(np.asarray(p_values), method="bh")
    return [float(a) for a in np.atleast_1d(adjusted)]
