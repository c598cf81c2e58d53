"""The simulated shifts, on a frame: each moves what it says and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabship.serving.simulate import Move, Shift, move_share, offset, resample_by, shifted_rows


def _frame(n: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype("int64"),
            "hours": rng.normal(40, 10, n),
            "sex": rng.choice(["Female", "Male"], n, p=[0.35, 0.65]),
            "income": rng.choice(["<=50K", ">50K"], n),
        }
    )


def test_offset_moves_one_feature_by_its_standard_deviations_only() -> None:
    frame = _frame()
    moved = offset(frame, Shift.parse("age=0.5"))
    assert moved["age"].dtype == np.int64
    change = (moved["age"].mean() - frame["age"].mean()) / frame["age"].std()
    assert change == pytest.approx(0.5, abs=0.01)
    assert moved.drop(columns="age").equals(frame.drop(columns="age"))


def test_move_share_moves_exactly_that_share_between_two_categories() -> None:
    frame = _frame()
    moved = move_share(frame, Move.parse("sex:Male>Female=0.1"), np.random.default_rng(0))
    assert (moved["sex"] == "Female").sum() - (frame["sex"] == "Female").sum() == 2000
    assert moved.drop(columns="sex").equals(frame.drop(columns="sex"))


def test_resampling_by_a_feature_tilts_its_mean_and_is_seeded() -> None:
    frame = _frame()
    once = shifted_rows(frame, 20_000, [Shift.parse("hours=0.5")], [], seed=1)
    again = shifted_rows(frame, 20_000, [Shift.parse("hours=0.5")], [], seed=1)
    assert once.equals(again)
    change = (once["hours"].mean() - frame["hours"].mean()) / frame["hours"].std()
    assert 0.4 < change < 0.6  # exponential tilting of a normal moves its mean by k sd
    assert len(resample_by(frame, Shift("age", 0.0), 100, np.random.default_rng(0))) == 100


@pytest.mark.parametrize("text", ["age", "age=lots", "=1"])
def test_a_malformed_shift_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected FEATURE=SD"):
        Shift.parse(text)
