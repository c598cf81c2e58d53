"""A broken upstream column: constant, missing or rescaled in every row, and no other column
changes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tabship.serving.simulate.breakage import Break, break_column

from .frames import adult_like


def _others_unchanged(out: pd.DataFrame, frame: pd.DataFrame, feature: str) -> None:
    assert out.drop(columns=feature).equals(frame.drop(columns=feature))


@pytest.mark.parametrize(("text", "value"), [
    ("age=constant:99", 99), ("sex=constant:Male", "Male"), ("hours=constant:-1.5", -1.5),
])  # fmt: skip
def test_a_constant_column(text: str, value: object) -> None:
    frame = adult_like(1000)
    broken = Break.parse(text)
    out = break_column(frame, broken)
    assert (out[broken.feature] == value).all()
    assert out[broken.feature].dtype == frame[broken.feature].dtype
    _others_unchanged(out, frame, broken.feature)


def test_a_constant_with_no_value_is_the_most_common_one() -> None:
    frame = adult_like(1000)
    out = break_column(frame, Break.parse("sex=constant"))
    assert (out["sex"] == "Male").all()  # 65% of the rows


@pytest.mark.parametrize("feature", ["age", "hours", "sex"])
def test_a_missing_column(feature: str) -> None:
    frame = adult_like(1000)
    out = break_column(frame, Break.parse(f"{feature}=missing"))
    assert out[feature].isna().all()
    _others_unchanged(out, frame, feature)


@pytest.mark.parametrize(("feature", "factor"), [("age", 1000.0), ("hours", 0.001)])
def test_a_column_in_other_units(feature: str, factor: float) -> None:
    frame = adult_like(1000)
    out = break_column(frame, Break.parse(f"{feature}=scale:{factor:g}"))
    expected = frame[feature] * factor
    if feature == "age":  # integers stay integers
        assert out[feature].dtype == np.int64
    np.testing.assert_allclose(out[feature], expected)
    _others_unchanged(out, frame, feature)


@pytest.mark.parametrize(("text", "message"), [
    ("age", "expected FEATURE=constant"), ("age=scale", "scale needs a number"),
    ("age=scale:big", "scale needs a number"), ("age=missing:1", "missing takes no value"),
    ("age=zero", "expected FEATURE=constant"),
])  # fmt: skip
def test_a_malformed_break_is_refused(text: str, message: str) -> None:
    with pytest.raises(
        ValueError, match=f"^--break {re.escape(repr(text))}: .*{re.escape(message)}"
    ):
        Break.parse(text)


@pytest.mark.parametrize(("text", "message"), [
    ("sex=scale:10", "sex is not numeric"), ("age=constant:old", "age holds integers, not 'old'"),
    ("hours=constant:x", "hours holds numbers"),
])  # fmt: skip
def test_a_break_the_column_cannot_take_is_refused(text: str, message: str) -> None:
    broken = Break.parse(text)
    with pytest.raises(ValueError, match=message):
        broken.check(adult_like(10)[broken.feature])
