"""A simulation plan checked against the dataset before anything is drawn or sent: every option
names a request feature of the right kind, and values that can occur. Each problem is one
ValueError line that names the option, the feature and the value."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tabship.data import FieldSpec
from tabship.serving.simulate.labelshift import is_positive, label_pair
from tabship.serving.simulate.traffic import Plan


def check_plan(
    plan: Plan, holdout: pd.DataFrame, fields: Sequence[FieldSpec], target: str, positive: str
) -> None:
    """Raise ValueError for the first option PLAN cannot carry out on HOLDOUT's rows."""
    known = {f.name: f for f in fields}

    def feature(option: str, text: str, name: str, numeric: bool = False) -> pd.Series:
        if name not in known or name not in holdout.columns:
            raise ValueError(
                f"{option} {text!r}: no request feature {name!r} (features: {', '.join(known)})"
            )
        column = holdout[name]
        if numeric and not pd.api.types.is_numeric_dtype(column.dtype):
            raise ValueError(f"{option} {text!r}: {name} is not numeric")
        return column

    for option, shifts in (("--shift", plan.shifts), ("--offset", plan.offsets)):
        for shift in shifts:
            feature(option, shift.text, shift.feature, numeric=True)
    for move in plan.moves:
        column = feature("--move", move.text, move.feature)
        if not (column.astype("string") == move.source).any():
            raise ValueError(
                f"--move {move.text!r}: no holdout row has {move.feature}={move.source!r}"
            )
        categories = known[move.feature].categories
        if categories is not None and move.target not in categories:
            raise ValueError(
                f"--move {move.text!r}: {move.target!r} is not a category of {move.feature} "
                f"({', '.join(categories)})"
            )
    if plan.label_rate is not None:
        _check_rate(plan.label_rate, holdout, target, positive)
    if plan.flips:
        try:
            label_pair(holdout[target], positive)
        except ValueError as error:
            raise ValueError(f"--flip: {error}") from None
    for flip in plan.flips:
        column = feature("--flip", flip.text, flip.feature)
        inside = flip.mask(holdout)  # refuses a comparison the feature's kind cannot make
        if flip.op == "=" and not inside.any() and not pd.api.types.is_numeric_dtype(column.dtype):
            raise ValueError(
                f"--flip {flip.text!r}: no holdout row has {flip.feature}={flip.value!r}"
            )
    for broken in plan.breaks:
        broken.check(feature("--break", broken.text, broken.feature))


def _check_rate(rate: float, holdout: pd.DataFrame, target: str, positive: str) -> None:
    positives = is_positive(holdout, target, positive)
    if rate > 0 and not positives.any():
        raise ValueError(f"--label-rate {rate:g}: the holdout has no positive ({positive!r}) row")
    if rate < 1 and positives.all():
        raise ValueError(f"--label-rate {rate:g}: the holdout has only positive rows")
