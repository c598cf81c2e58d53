"""Drift statistics on Adult: the reference is the training split, windows come from the holdout
(adult.test), 1,000 rows each. Every rate is measured over seeded trials and printed (run pytest
with -s, or read the captured output with -rA)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats  # type: ignore[import-untyped]

from tabship.data import project_at
from tabship.models import (
    DriftRule,
    Profile,
    build_profile,
    detect_drift,
    load_run_config,
    load_training_data,
)
from tabship.models.monitoring.gauges import SCORE_FEATURE

WINDOW = 1000
TRIALS = 200
Adult = tuple[Profile, pd.DataFrame, pd.DataFrame]


@pytest.fixture(scope="module")
def adult(tmp_path_factory: pytest.TempPathFactory, make_project: Callable[..., Path]) -> Adult:
    """(profile of the training split, training rows, holdout rows). No model is fitted: feature
    drift does not need one, so the profile's scores are uniform stand-ins and no test here
    passes scores (test_estimate.py checks the score's drift with a real model)."""
    project = project_at(make_project(tmp_path_factory.mktemp("drift") / "project", None, None))
    run = load_run_config(project)
    data = load_training_data(project, run.data)
    stand_in = np.random.default_rng(0).uniform(size=len(data.train))
    return build_profile(data.train, run.features, stand_in, data.y_train), data.train, data.holdout


def windows(holdout: pd.DataFrame, seed: int, trials: int = TRIALS) -> list[pd.DataFrame]:
    """TRIALS windows of WINDOW rows sampled without replacement from the holdout."""
    rng = np.random.default_rng(seed)
    picks = (rng.choice(len(holdout), WINDOW, replace=False) for _ in range(trials))
    return [holdout.iloc[p].reset_index(drop=True) for p in picks]


def test_no_shift_rarely_alarms(adult: Adult) -> None:
    profile, _, holdout = adult
    flagged: Counter[str] = Counter()
    alarmed = 0
    for window in windows(holdout, seed=1):
        drifted = detect_drift(profile, window).drifted
        alarmed += bool(drifted)
        flagged.update(drifted)
    rate = alarmed / TRIALS
    print(f"\nno shift: {alarmed}/{TRIALS} windows of {WINDOW} raised an alarm ({rate:.1%});")
    print(f"  features flagged: {dict(flagged) or 'none'}")
    assert rate <= 0.01


def shift_numeric(window: pd.DataFrame, column: str, by: float) -> pd.DataFrame:
    shifted = window.copy()
    shifted[column] = shifted[column].astype(float) + by
    return shifted


def move_share(
    window: pd.DataFrame, column: str, source: str, target: str, share: float
) -> pd.DataFrame:
    """SHARE of the window's rows moved from category SOURCE to TARGET (their other columns kept)."""
    shifted = window.copy()
    rows = np.flatnonzero((shifted[column] == source).to_numpy())
    moved = rows[: round(share * len(shifted))]
    assert len(moved) == round(share * len(shifted)), "the window has too few rows of SOURCE"
    values = shifted[column].astype(object).to_numpy(copy=True)
    values[moved] = target
    shifted[column] = pd.Series(values, index=shifted.index, dtype=window[column].dtype)
    return shifted


Shift = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]
SHIFTS: dict[str, Shift] = {
    "age": lambda w, train: shift_numeric(w, "age", 0.5 * float(train["age"].std())),
    "hours-per-week": lambda w, train: shift_numeric(
        w, "hours-per-week", 0.5 * float(train["hours-per-week"].std())
    ),
    "sex": lambda w, _: move_share(w, "sex", "Male", "Female", 0.10),
    "education": lambda w, _: move_share(w, "education", "HS-grad", "Bachelors", 0.10),
}


@pytest.mark.parametrize("feature", list(SHIFTS))
def test_shift_is_found_on_that_feature_alone(adult: Adult, feature: str) -> None:
    """0.5 standard deviations added to a numeric feature, or 10 points of share moved between
    two categories: flagged in at least 95% of windows, and no other feature ever flagged."""
    profile, train, holdout = adult
    found, others = 0, Counter[str]()
    distances: list[float] = []
    psis: list[float] = []
    for window in windows(holdout, seed=2):
        report = detect_drift(profile, SHIFTS[feature](window, train))
        found += feature in report.drifted
        others.update(f for f in report.drifted if f != feature)
        row = next(f for f in report.features if f.feature == feature)
        assert row.distance is not None and row.psi is not None
        distances.append(row.distance)
        psis.append(row.psi)
    rate = found / TRIALS
    print(
        f"\nshift in {feature}: flagged in {found}/{TRIALS} windows ({rate:.1%}); median distance "
        f"{np.median(distances):.3f}, median PSI {np.median(psis):.3f}; "
        f"other features flagged: {dict(others) or 'never'}"
    )
    assert rate >= 0.95
    assert not others


def test_large_window_needs_a_large_enough_shift(adult: Adult) -> None:
    """The whole holdout (16,281 rows) with age one year older: significant by p-value alone
    (which is why a p-value is not a verdict), but below the distance threshold."""
    profile, _, holdout = adult
    report = detect_drift(profile, shift_numeric(holdout, "age", 1.0))
    age = next(f for f in report.features if f.feature == "age")
    print(f"\nholdout, age + 1 year: D {age.distance:.4f}, adjusted p {age.adjusted_p:.2e}")
    assert age.adjusted_p is not None and age.adjusted_p < 1e-3
    assert age.verdict == "no drift" and not report.drifted


def test_small_window_is_not_enough_data(adult: Adult) -> None:
    profile, _, holdout = adult
    report = detect_drift(profile, holdout.iloc[:499], scores=np.full(499, 0.5))
    assert not report.enough_data and not report.drifted
    assert {f.verdict for f in report.features} == {"not enough data"}
    assert all(f.p_value is None and f.psi is None for f in report.features)
    assert report.features[-1].feature == SCORE_FEATURE
    assert report.to_dict()["features"][0]["psi"] is None


@pytest.mark.parametrize("column", ["age", "education-num", "capital-gain", "hours-per-week"])
def test_ks_with_ties_is_the_exact_two_sample_statistic(adult: Adult, column: str) -> None:
    """Integer features are stored with every distinct value, so D equals scipy's two-sample KS
    on the raw rows (ties included), and the p-value is no smaller than scipy's asymptotic one."""
    profile, train, holdout = adult
    window = holdout.sample(WINDOW, random_state=3)
    window = shift_numeric(window, column, 1.0) if column == "age" else window
    row = next(f for f in detect_drift(profile, window).features if f.feature == column)
    reference = stats.ks_2samp(window[column].astype(float), train[column], method="asymp")
    assert row.statistic == pytest.approx(reference.statistic, abs=1e-12)
    assert row.p_value is not None and row.p_value >= reference.pvalue * 0.999


def test_ks_on_the_quantile_grid_is_close(adult: Adult) -> None:
    """fnlwgt has 21,648 distinct values, more than the profile's 1,000 points: D is within
    1/1000 (the grid) + 1/1000 (the window's own step) of scipy's on the raw rows."""
    profile, train, holdout = adult
    for seed in range(5):
        window = holdout.sample(WINDOW, random_state=seed)
        row = next(f for f in detect_drift(profile, window).features if f.feature == "fnlwgt")
        exact = stats.ks_2samp(window["fnlwgt"], train["fnlwgt"]).statistic
        assert row.statistic == pytest.approx(exact, abs=0.002)


def test_missing_and_unseen_values_are_drift(adult: Adult) -> None:
    """A fifth of a numeric feature gone missing, or of a categorical one turned into a category
    the reference never saw, is flagged (missing counts at +inf in KS; unseen is its own bin)."""
    profile, _, holdout = adult
    window = holdout.sample(WINDOW, random_state=4).reset_index(drop=True)
    window["hours-per-week"] = window["hours-per-week"].astype(float).mask(window.index < 200)
    window["race"] = window["race"].mask(window.index >= 800, "Martian")
    assert detect_drift(profile, window).drifted == ["hours-per-week", "race"]


def test_psi_of_a_share_moved_between_large_categories_is_small(adult: Adult) -> None:
    """Why PSI is reported but not the verdict's effect size (see drift.py)."""
    profile, _, holdout = adult
    window = move_share(holdout.sample(WINDOW, random_state=5), "sex", "Male", "Female", 0.1)
    sex = next(f for f in detect_drift(profile, window).features if f.feature == "sex")
    print(
        f"\n10 points moved Male -> Female: PSI {sex.psi:.3f}, total variation {sex.distance:.3f}"
    )
    assert sex.psi is not None and sex.psi < 0.1 and sex.verdict == "drift"


def test_rule_is_checked() -> None:
    with pytest.raises(ValueError, match="drift rule"):
        DriftRule(fdr=0.0)


def test_missing_column_is_named(adult: Adult) -> None:
    profile, _, holdout = adult
    with pytest.raises(ValueError, match="lacks the columns age"):
        detect_drift(profile, holdout.drop(columns=["age"]))
