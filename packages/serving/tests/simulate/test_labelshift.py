"""Label shift and concept drift, on a frame: the positive rate becomes what was asked while each
class keeps its features; a flip changes the labels of the slice's rows and of no other."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from tabship.serving.simulate.labelshift import (
    Flip,
    flip_labels,
    label_pair,
    positive_rate,
    resample_to_rate,
)

from .frames import adult_like

PAIR = (">50K", "<=50K")


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.4, 0.75, 1.0])
def test_label_shift_reaches_the_rate_and_keeps_each_class_features(rate: float) -> None:
    frame = adult_like()
    before = positive_rate(frame, "income", ">50K")
    out = resample_to_rate(frame, "income", ">50K", rate, 5000, np.random.default_rng(0))
    assert len(out) == 5000
    assert abs(positive_rate(out, "income", ">50K") - rate) <= 0.02
    assert abs(before - rate) > 0.05  # the source's rate is 0.30: each one is a real shift
    for label in PAIR:  # P(x | y) stays: the mean age of each class is the source's
        mine, theirs = out[out["income"] == label], frame[frame["income"] == label]
        if len(mine) > 500:
            assert abs(mine["age"].mean() - theirs["age"].mean()) < 0.1 * theirs["age"].std()


def test_label_shift_rows_are_real_rows_in_random_order() -> None:
    frame = adult_like(2000)
    out = resample_to_rate(frame, "income", ">50K", 0.5, 1000, np.random.default_rng(1))
    assert out.merge(frame.drop_duplicates(), how="left", indicator=True)["_merge"].eq("both").all()
    first_half = (out["income"].iloc[:500] == ">50K").mean()
    assert 0.4 < first_half < 0.6  # not all positives first


@pytest.mark.parametrize(("text", "share"), [("sex=Female", 1.0), ("sex=Female@0.3", 0.3)])
def test_a_categorical_flip_changes_only_that_share_of_the_slice(text: str, share: float) -> None:
    frame = adult_like()
    flip = Flip.parse(text)
    out = flip_labels(frame, flip, "income", PAIR, np.random.default_rng(2))
    changed = (out["income"] != frame["income"]).to_numpy()
    inside = (frame["sex"] == "Female").to_numpy()
    assert changed.sum() == round(share * inside.sum())
    assert not changed[~inside].any()  # nothing outside the slice
    was, now = frame["income"][changed], out["income"][changed]
    assert ((was == ">50K") == (now == "<=50K")).all()  # each one swapped to the other label
    assert out.drop(columns="income").equals(frame.drop(columns="income"))  # features unchanged


@pytest.mark.parametrize(("text", "condition"), [
    ("age>60", lambda f: f["age"] > 60), ("age<=25", lambda f: f["age"] <= 25),
    ("hours>=50.5", lambda f: f["hours"] >= 50.5), ("age=30", lambda f: f["age"] == 30),
])  # fmt: skip
def test_a_numeric_flip_takes_the_range(
    text: str, condition: Callable[[pd.DataFrame], pd.Series]
) -> None:
    frame = adult_like()
    out = flip_labels(frame, Flip.parse(text), "income", PAIR, np.random.default_rng(2))
    inside = condition(frame).to_numpy()
    changed = (out["income"] != frame["income"]).to_numpy()
    assert inside.sum() > 0 and (changed == inside).all()


def test_a_flip_of_a_missing_value_is_never_in_the_slice() -> None:
    frame = adult_like(100).astype({"age": "float64"})
    frame.loc[:9, "age"] = np.nan
    out = flip_labels(frame, Flip.parse("age<200"), "income", PAIR, np.random.default_rng(0))
    assert (out["income"][:10] == frame["income"][:10]).all()
    assert (out["income"][10:] != frame["income"][10:]).all()


@pytest.mark.parametrize(("text", "message"), [
    ("sex", "expected FEATURE=VALUE"), ("age>old", "> needs a number"),
    ("sex=Female@0", "SHARE is a share"), ("sex=Female@1.5", "SHARE is a share"),
])  # fmt: skip
def test_a_malformed_flip_is_refused(text: str, message: str) -> None:
    with pytest.raises(
        ValueError, match=f"^--flip {re.escape(repr(text))}: .*{re.escape(message)}"
    ):
        Flip.parse(text)


def test_the_label_pair_needs_the_positive_and_one_other() -> None:
    assert label_pair(pd.Series(["a", "b", "a"]), "b") == ("b", "a")
    assert label_pair(pd.Series([1, 2]), "2") == (2, 1)  # stored as they are
    with pytest.raises(ValueError, match="one other"):
        label_pair(pd.Series(["a", "b", "c"]), "b")
