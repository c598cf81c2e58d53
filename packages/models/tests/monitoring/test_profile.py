"""The reference profile: what it keeps, its JSON round trip, and the checks on load."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabship.features import FeatureSpec
from tabship.models import Profile, build_profile, fit_calibration, profile_from_dict
from tabship.models.monitoring.profile import profile_numeric

SPEC = FeatureSpec(numeric=("age", "income"), categorical=("colour",))


def frame(rows: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Integer ages with ties, continuous incomes with 10% missing and an atom at 0, colours
    with a missing share; scores and labels that are miscalibrated on purpose (true p = s**2)."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10, 1, rows)
    income[rng.uniform(size=rows) < 0.3] = 0.0
    income[rng.uniform(size=rows) < 0.1] = np.nan
    colours = rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2]).astype(object)
    colours[rng.uniform(size=rows) < 0.05] = None
    data = pd.DataFrame(
        {"age": rng.integers(18, 90, rows), "income": income, "colour": colours}
    ).astype({"colour": "string"})
    scores = rng.uniform(size=rows)
    labels = (rng.uniform(size=rows) < scores**2).astype(int)
    return data, scores, labels


@pytest.fixture(scope="module")
def built() -> Profile:
    data, scores, labels = frame()
    return build_profile(data, SPEC, scores, labels)


def test_round_trip_through_json(built: Profile) -> None:
    text = json.dumps(built.to_dict(), allow_nan=False)
    assert profile_from_dict(json.loads(text)) == built


def test_integer_feature_is_stored_exactly(built: Profile) -> None:
    """Every distinct age is a point, so the distribution function is exact, ties included."""
    data, _, _ = frame()
    age = built.numeric[0]
    assert age.points == tuple(float(v) for v in np.unique(data["age"]))
    x = np.array([17.0, 18.0, 18.5, 50.0, 89.0, 95.0])
    expected = [float((data["age"] <= v).mean()) for v in x]
    assert age.cdf(x) == pytest.approx(expected, abs=1e-12)


def test_continuous_feature_keeps_its_atom_and_missing_share(built: Profile) -> None:
    data, _, _ = frame()
    income = built.numeric[1]
    present = data["income"].dropna()
    assert len(income.points) <= 1001
    assert income.missing == pytest.approx(data["income"].isna().mean())
    # The atom at 0 is exact: nothing below it, its whole mass at it.
    assert income.cdf(np.array([-1.0, 0.0])) == pytest.approx([0.0, (present == 0).mean()])
    x = np.quantile(present, np.linspace(0.01, 0.99, 50))
    exact = [(present <= v).mean() for v in x]
    assert np.max(np.abs(income.cdf(x) - exact)) <= 1 / 1000
    assert sum(income.shares) + income.missing == pytest.approx(1.0)


def test_bins_are_right_closed_so_an_atom_stays_whole() -> None:
    values = np.r_[np.zeros(900), np.arange(1.0, 101.0)]
    profile = profile_numeric("x", values, bins=10)
    assert profile.edges[0] == 0.0 and profile.shares[0] == pytest.approx(0.9)


def test_categories_and_missing(built: Profile) -> None:
    colour = built.categorical[0]
    assert set(colour.shares) == {"red", "green", "blue"}
    assert sum(colour.shares.values()) + colour.missing == pytest.approx(1.0)
    assert 0.03 < colour.missing < 0.07


def test_calibration_is_monotone_and_fixes_the_miscalibration() -> None:
    """Scores s with true probability s**2: the map brings them within a few points of s**2."""
    _, scores, labels = frame(rows=50_000, seed=1)
    calibration = fit_calibration(scores, labels)
    grid = np.linspace(0.05, 0.95, 19)
    mapped = calibration.apply(grid)
    assert np.all(np.diff(mapped) >= 0)
    error = np.max(np.abs(mapped - grid**2))
    print(f"\nisotonic calibration of s -> s**2 on 50,000 rows: largest error {error:.3f}")
    assert error < 0.05


def corrupt(raw: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    broken = copy.deepcopy(raw)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("format_version",), 2, "profile.format_version"),
        (("rows",), KeyError, "profile.rows: missing"),
        (("numeric", 1, "at"), [0.5, 0.1], r"profile.numeric\[1\].at"),
        (("numeric", 0, "edges"), [3.0, 2.0], r"profile.numeric\[0\].edges: must be strictly"),
        (("numeric", 0, "shares"), [0.5], r"profile.numeric\[0\].shares: needs one share"),
        (("numeric", 0, "missing"), 1.5, r"profile.numeric\[0\].missing"),
        (("categorical", 0, "shares", "red"), 0.9, r"profile.categorical\[0\].shares: .* sum"),
        (("categorical", 0, "name"), "age", "named twice"),
        (("score", "points"), "many", "profile.score.points: must be a list"),
        (("calibration", "probabilities"), [0.1], "profile.calibration.probabilities"),
    ],
)
def test_load_names_the_faulty_field(
    built: Profile, path: tuple[str | int, ...], value: object, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        profile_from_dict(corrupt(built.to_dict(), path, value))


def test_build_refuses_missing_columns_and_scores() -> None:
    data, scores, labels = frame(rows=100)
    with pytest.raises(ValueError, match="lacks the columns colour"):
        build_profile(data.drop(columns=["colour"]), SPEC, scores, labels)
    with pytest.raises(ValueError, match="one finite out-of-fold score per training row"):
        build_profile(data, SPEC, scores[:-1], labels)
