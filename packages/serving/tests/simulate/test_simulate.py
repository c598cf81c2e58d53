"""The simulated covariate shifts, on a frame: each moves what it says and nothing else; and every
kind of shift combined in one seeded plan, each effect measured on the rows produced."""

from __future__ import annotations

import numpy as np
import pytest

from tabship.serving.simulate.breakage import Break
from tabship.serving.simulate.covariate import Move, Shift, move_share, offset, resample_by
from tabship.serving.simulate.labelshift import Flip, is_positive
from tabship.serving.simulate.traffic import Plan, produce

from .frames import adult_like


def test_offset_moves_one_feature_by_its_standard_deviations_only() -> None:
    frame = adult_like()
    moved = offset(frame, Shift.parse("age=0.5"))
    assert moved["age"].dtype == np.int64
    change = (moved["age"].mean() - frame["age"].mean()) / frame["age"].std()
    assert change == pytest.approx(0.5, abs=0.01)
    assert moved.drop(columns="age").equals(frame.drop(columns="age"))


def test_move_share_moves_exactly_that_share_between_two_categories() -> None:
    frame = adult_like()
    moved = move_share(frame, Move.parse("sex:Male>Female=0.1"), np.random.default_rng(0))
    assert (moved["sex"] == "Female").sum() - (frame["sex"] == "Female").sum() == 2000
    assert moved.drop(columns="sex").equals(frame.drop(columns="sex"))


def test_resampling_by_a_feature_tilts_its_mean_and_is_seeded() -> None:
    frame = adult_like()
    plan = Plan(rows=20_000, seed=1, shifts=(Shift.parse("hours=0.5"),))
    once = produce(frame, plan, "income", ">50K")
    again = produce(frame, plan, "income", ">50K")
    assert once.frame.equals(again.frame)
    change = (once.frame["hours"].mean() - frame["hours"].mean()) / frame["hours"].std()
    assert 0.4 < change < 0.6  # exponential tilting of a normal moves its mean by k sd
    assert once.effects[0]["moved_sd"] == pytest.approx(change)
    assert len(resample_by(frame, Shift("age", 0.0), 100, np.random.default_rng(0))) == 100


@pytest.mark.parametrize("text", ["age", "age=lots", "=1"])
def test_a_malformed_shift_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected FEATURE=SD"):
        Shift.parse(text)
    with pytest.raises(ValueError, match=r"^--offset"):
        Shift.parse(text, "--offset")


def test_every_shift_combined_is_applied_in_order_and_measured() -> None:
    frame = adult_like()
    plan = Plan(
        rows=10_000,
        seed=7,
        shifts=(Shift.parse("hours=0.3"),),
        offsets=(Shift.parse("age=0.5"),),
        moves=(Move.parse("sex:Male>Female=0.1"),),
        label_rate=0.4,
        flips=(Flip.parse("age>70"),),
        breaks=(Break.parse("hours=missing"),),
    )
    traffic = produce(frame, plan, "income", ">50K")
    out, effects = traffic.frame, traffic.effects
    assert [e["kind"] for e in effects] == [
        "shift",
        "label-rate",
        "offset",
        "move",
        "flip",
        "break",
    ]
    assert len(out) == 10_000
    label_rate, move, flip, broken = effects[1], effects[3], effects[4], effects[5]
    assert label_rate["positive_rate_after"] == 0.4  # exactly round(0.4 * rows) positives
    assert move["rows_moved"] == 1000
    assert move["share_after"] - move["share_before"] == pytest.approx(0.1)
    # The flip judged the slice on the offset ages, and the rate it reports is the rows' own.
    assert flip["slice_rows"] == int((out["age"] > 70).sum())
    assert flip["rows_flipped"] == flip["slice_rows"]
    assert flip["positive_rate_after"] == is_positive(out, "income", ">50K").mean()
    assert out["hours"].isna().all() and broken["after"]["missing"] == 1.0
    assert broken["before"]["missing"] == 0.0 and broken["rows_changed"] == 10_000
    again = produce(frame, plan, "income", ">50K")
    assert again.frame.equals(out) and again.effects == effects
    other = produce(frame, Plan(**{**plan.__dict__, "seed": 8}), "income", ">50K")
    assert not other.frame.equals(out)
