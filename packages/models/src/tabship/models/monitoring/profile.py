"""The reference profile a model is monitored against, built once from its training rows.

Monitoring must not need the training data at run time, so the profile keeps just enough of it,
as JSON (no pickle, so a profile from an older release stays readable and reviewable):

- each numeric feature: its missing share, quantile bins for PSI, and its distribution function
  on up to `points` values (every distinct value when there are fewer, so integer features with
  ties are stored exactly; otherwise a quantile grid, exact at the grid and interpolated between
  its points, an error of at most 1/points). The two-sample KS test of drift.py runs against it.
- each categorical feature: the share of every category and of missing values. A category the
  reference never saw is counted in the window as "unseen", with a reference share of zero.
- the out-of-fold scores of the training rows, profiled as a numeric feature: the score the model
  gives rows it was not trained on, which is what live scores look like.
- a calibration map fitted on those out-of-fold scores and their labels (isotonic regression,
  stored as its breakpoints), for the label-free estimate of estimate.py.

Non-finite numbers count as missing. `profile_from_dict` checks every field and names the bad one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from tabship.features import FeatureSpec

FORMAT_VERSION = 1
REFERENCE_ARTIFACT = "monitoring/reference.json"  # where a run logs its profile
Floats = npt.NDArray[np.float64]
_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class NumericProfile:
    """One numeric column: missing share, PSI bins and its distribution function.

    `edges` are the interior edges of right-closed bins, (-inf, e0], (e0, e1], ..., (ek, inf), so
    an atom (a tie, say 0 in capital-gain) falls wholly into one bin; `shares` are the bins' shares
    of all rows (with `missing` they sum to 1). `points` are increasing values, `below[i]` and
    `at[i]` the shares of present values < and <= points[i].
    """

    name: str
    rows: int
    missing: float
    edges: tuple[float, ...]
    shares: tuple[float, ...]
    points: tuple[float, ...]
    below: tuple[float, ...]
    at: tuple[float, ...]

    def cdf(self, x: Floats) -> Floats:
        """P(X <= x) among present values: exact at the points, linear in between, so a
        feature stored with all its distinct values is an exact step function (below[i + 1]
        equals at[i] when nothing lies between two points)."""
        points, below, at = (
            np.asarray(a, dtype=np.float64) for a in (self.points, self.below, self.at)
        )
        if len(points) == 0:
            return np.zeros(len(x))
        j = np.searchsorted(points, x, side="right") - 1
        here = np.clip(j, 0, len(points) - 1)
        after = np.clip(j + 1, 0, len(points) - 1)
        gap = points[after] - points[here]
        frac = np.divide(x - points[here], gap, out=np.zeros(len(x)), where=gap > 0)
        between = at[here] + (below[after] - at[here]) * frac
        exact = points[here] == x
        inside = np.where(exact | (j >= len(points) - 1), at[here], between)
        return np.where(j < 0, 0.0, inside)


@dataclass(frozen=True)
class CategoricalProfile:
    """One categorical column: each category's share of all rows, and the missing share."""

    name: str
    rows: int
    missing: float
    shares: dict[str, float]


@dataclass(frozen=True)
class Calibration:
    """An isotonic map from score to probability, as breakpoints: linear between them and flat
    beyond (how scikit-learn's IsotonicRegression predicts), so no fitted object is stored."""

    scores: tuple[float, ...]
    probabilities: tuple[float, ...]

    def apply(self, score: npt.ArrayLike) -> Floats:
        """The calibrated probability of each score."""
        return np.interp(np.asarray(score, dtype=np.float64), self.scores, self.probabilities)


@dataclass(frozen=True)
class Profile:
    """A model's reference: its features, its out-of-fold scores and their calibration."""

    rows: int
    numeric: tuple[NumericProfile, ...]
    categorical: tuple[CategoricalProfile, ...]
    score: NumericProfile
    calibration: Calibration
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `profile_from_dict` reads it back."""
        return {
            "format_version": self.format_version,
            "rows": self.rows,
            "numeric": [_numeric_dict(n) for n in self.numeric],
            "categorical": [
                {"name": c.name, "rows": c.rows, "missing": c.missing, "shares": dict(c.shares)}
                for c in self.categorical
            ],
            "score": _numeric_dict(self.score),
            "calibration": {
                "scores": list(self.calibration.scores),
                "probabilities": list(self.calibration.probabilities),
            },
        }


def _numeric_dict(n: NumericProfile) -> dict[str, Any]:
    return {
        "name": n.name,
        "rows": n.rows,
        "missing": n.missing,
        "edges": list(n.edges),
        "shares": list(n.shares),
        "points": list(n.points),
        "below": list(n.below),
        "at": list(n.at),
    }


def numeric_values(column: pd.Series) -> Floats:
    """A column as float64, with missing and non-finite values (and non-numbers) as NaN."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _floats(values: Floats) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def profile_numeric(
    name: str, values: Floats, bins: int = 10, points: int = 1000
) -> NumericProfile:
    """The profile of one numeric column (NaN is missing): BINS quantile bins, POINTS points."""
    rows = len(values)
    if rows == 0:
        raise ValueError(f"{name}: no rows to profile")
    ordered = np.sort(values[~np.isnan(values)])
    present = len(ordered)
    if present == 0:
        return NumericProfile(name, rows, 1.0, (), (0.0,), (), (), ())
    distinct = np.unique(ordered)
    if len(distinct) > points:
        levels = np.linspace(0.0, 1.0, points + 1)
        distinct = np.unique(np.quantile(ordered, levels, method="inverted_cdf"))
    below = np.searchsorted(ordered, distinct, side="left") / present
    at = np.searchsorted(ordered, distinct, side="right") / present
    cuts = np.quantile(ordered, np.linspace(0.0, 1.0, bins + 1)[1:-1], method="inverted_cdf")
    edges = np.unique(cuts)
    edges = edges[edges < ordered[-1]]  # an edge at the maximum would leave an empty last bin
    counts = np.diff(
        np.concatenate([[0], np.searchsorted(ordered, edges, side="right"), [present]])
    )
    return NumericProfile(
        name=name,
        rows=rows,
        missing=1.0 - present / rows,
        edges=_floats(edges),
        shares=_floats(counts / rows),
        points=_floats(distinct),
        below=_floats(below),
        at=_floats(at),
    )


def profile_categorical(name: str, column: pd.Series) -> CategoricalProfile:
    """The profile of one categorical column: each category's share, as text, and missing."""
    rows = len(column)
    if rows == 0:
        raise ValueError(f"{name}: no rows to profile")
    text = column.astype("string")
    counts = text.value_counts(dropna=True)
    shares = {str(k): int(v) / rows for k, v in counts.items()}
    return CategoricalProfile(name, rows, float(text.isna().sum()) / rows, shares)


def fit_calibration(scores: npt.ArrayLike, labels: npt.ArrayLike) -> Calibration:
    """Isotonic regression of the labels on the scores: monotone, so it keeps the score order
    (and the ROC-AUC), and needs no assumption on the shape of the miscalibration."""
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError("calibration: scores and labels must be non-empty and of equal length")
    if not np.all(np.isfinite(x)) or not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("calibration: scores must be finite and labels 0 or 1")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    breaks = np.asarray(iso.X_thresholds_, dtype=np.float64)
    probs = np.asarray(iso.y_thresholds_, dtype=np.float64)
    if len(breaks) == 1:  # one distinct score: a flat map still needs two points for np.interp
        breaks, probs = np.r_[breaks, breaks + 1.0], np.r_[probs, probs]
    return Calibration(_floats(breaks), _floats(probs))


def build_profile(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    oof_scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    bins: int = 10,
    points: int = 1000,
) -> Profile:
    """The reference profile of the training rows FRAME (the raw columns SPEC names), their
    out-of-fold scores OOF_SCORES and 0/1 LABELS (`CVResult.oof` and `TrainingData.y_train`)."""
    absent = [c for c in (*spec.numeric, *spec.categorical) if c not in frame.columns]
    if absent:
        raise ValueError(f"profile: the frame lacks the columns {', '.join(absent)}")
    scores = np.asarray(oof_scores, dtype=np.float64)
    if len(scores) != len(frame) or not np.all(np.isfinite(scores)):
        raise ValueError("profile: one finite out-of-fold score per training row is needed")
    return Profile(
        rows=len(frame),
        numeric=tuple(
            profile_numeric(c, numeric_values(frame[c]), bins, points) for c in spec.numeric
        ),
        categorical=tuple(profile_categorical(c, frame[c]) for c in spec.categorical),
        score=profile_numeric("score", scores, bins, points),
        calibration=fit_calibration(scores, labels),
    )


# Loading: every field is checked, and a fault names it (e.g. "profile.numeric[2].at").


def _get(raw: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be an object")
    if key not in raw:
        raise ValueError(f"{where}.{key}: missing")
    return raw[key]


def _count(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = _get(raw, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}.{key}: must be a positive integer, not {value!r}")
    return value


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{where}: must be a number between 0 and 1, not {value!r}")
    return float(value)


def _numbers(raw: Mapping[str, Any], key: str, where: str, increasing: str = "") -> Floats:
    """A list of finite numbers; INCREASING is "strictly" or "weakly" when the order matters."""
    value = _get(raw, key, where)
    ok = isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
    if not ok:
        raise ValueError(f"{where}.{key}: must be a list of numbers")
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{where}.{key}: must hold finite numbers only")
    steps = np.diff(array)
    if (increasing == "strictly" and np.any(steps <= 0)) or (
        increasing == "weakly" and np.any(steps < 0)
    ):
        raise ValueError(f"{where}.{key}: must be {increasing} increasing")
    return array


def _sums_to_one(total: float, where: str) -> None:
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"{where}: the shares and the missing share sum to {total}, not 1")


def _numeric_from(raw: Mapping[str, Any], where: str) -> NumericProfile:
    name = _get(raw, "name", where)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}.name: must be a non-empty string")
    missing = _share(_get(raw, "missing", where), f"{where}.missing")
    edges = _numbers(raw, "edges", where, "strictly")
    shares = _numbers(raw, "shares", where)
    if len(shares) != len(edges) + 1:
        raise ValueError(f"{where}.shares: needs one share per bin, len(edges) + 1")
    for i, s in enumerate(shares):
        _share(float(s), f"{where}.shares[{i}]")
    _sums_to_one(float(shares.sum()) + missing, f"{where}.shares")
    points = _numbers(raw, "points", where, "strictly")
    below = _numbers(raw, "below", where, "weakly")
    at = _numbers(raw, "at", where, "weakly")
    for key, array in (("below", below), ("at", at)):
        if len(array) != len(points) or np.any((array < 0) | (array > 1)):
            raise ValueError(f"{where}.{key}: needs one share (0 to 1) per point")
    if np.any(below > at) or (len(at) and abs(at[-1] - 1.0) > _SUM_TOLERANCE):
        raise ValueError(f"{where}.at: must be >= below at each point and end at 1")
    if len(points) == 0 and missing < 1.0:
        raise ValueError(f"{where}.points: empty, but not every value is missing")
    return NumericProfile(
        name, _count(raw, "rows", where), missing, _floats(edges), _floats(shares),
        _floats(points), _floats(below), _floats(at),
    )  # fmt: skip


def _categorical_from(raw: Mapping[str, Any], where: str) -> CategoricalProfile:
    name = _get(raw, "name", where)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}.name: must be a non-empty string")
    missing = _share(_get(raw, "missing", where), f"{where}.missing")
    shares = _get(raw, "shares", where)
    if not isinstance(shares, Mapping) or not all(isinstance(k, str) for k in shares):
        raise ValueError(f"{where}.shares: must map category names to shares")
    checked = {k: _share(v, f"{where}.shares[{k!r}]") for k, v in shares.items()}
    _sums_to_one(sum(checked.values()) + missing, f"{where}.shares")
    return CategoricalProfile(name, _count(raw, "rows", where), missing, checked)


def _list(raw: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = _get(raw, key, "profile")
    if not isinstance(value, list):
        raise ValueError(f"profile.{key}: must be a list")
    return value


def profile_from_dict(raw: Mapping[str, Any]) -> Profile:
    """A profile read back from `Profile.to_dict`'s form; ValueError names the faulty field."""
    version = _get(raw, "format_version", "profile")
    if version != FORMAT_VERSION:
        raise ValueError(f"profile.format_version: {version!r} is not {FORMAT_VERSION}")
    numeric = tuple(
        _numeric_from(n, f"profile.numeric[{i}]") for i, n in enumerate(_list(raw, "numeric"))
    )
    categorical = tuple(
        _categorical_from(c, f"profile.categorical[{i}]")
        for i, c in enumerate(_list(raw, "categorical"))
    )
    names = [f.name for f in numeric] + [f.name for f in categorical]
    if len(set(names)) != len(names):
        raise ValueError("profile.numeric, profile.categorical: a feature is named twice")
    score = _numeric_from(_get(raw, "score", "profile"), "profile.score")
    if score.missing > 0 or len(score.points) == 0:
        raise ValueError("profile.score.missing: the scores must have no missing values")
    calibration = _get(raw, "calibration", "profile")
    xs = _numbers(calibration, "scores", "profile.calibration", "strictly")
    ps = _numbers(calibration, "probabilities", "profile.calibration", "weakly")
    if len(xs) < 2 or len(ps) != len(xs) or np.any((ps < 0) | (ps > 1)):
        raise ValueError(
            "profile.calibration.probabilities: needs one probability (0 to 1) per score, >= 2"
        )
    return Profile(
        rows=_count(raw, "rows", "profile"),
        numeric=numeric,
        categorical=categorical,
        score=score,
        calibration=Calibration(_floats(xs), _floats(ps)),
        format_version=FORMAT_VERSION,
    )
