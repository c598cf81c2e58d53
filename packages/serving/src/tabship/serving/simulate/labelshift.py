"""Simulated shifts of the label, as plain functions of a frame:
- `resample_to_rate`, label shift: rows drawn by label so the positive rate becomes P, while each
  class keeps its own feature distribution (P(y) moves, P(x | y) does not);
- `flip_labels`, concept drift: the label flips for a slice of the feature space (all of its
  rows, or SHARE of them), and the features stay as they were (P(y | x) moves there only).

The target column holds the dataset's own labels (`>50K`, `good`); a flip swaps the positive
label and the one other label (`label_pair`), so the label files still carry labels the monitor
knows.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tabship.serving.simulate.covariate import is_number

FLIP = re.compile(
    r"^(?P<feature>[^=<>@]+?)(?P<op><=|>=|=|<|>)(?P<value>[^@]+)(@(?P<share>\d*\.?\d+))?$"
)
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
}  # fmt: skip
Indices = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Flip:
    """Flip the label of SHARE of the rows where FEATURE OP VALUE holds."""

    feature: str
    op: str
    value: str
    share: float = 1.0

    @classmethod
    def parse(cls, text: str) -> Flip:
        match = FLIP.match(text)
        if match is None:
            raise ValueError(
                f"--flip {text!r}: expected FEATURE=VALUE, FEATURE>NUMBER or FEATURE<NUMBER "
                "(also >=, <=), then optionally @SHARE, e.g. sex=Female@0.5 or age>60"
            )
        share = float(match["share"]) if match["share"] else 1.0
        if not 0 < share <= 1:
            raise ValueError(f"--flip {text!r}: SHARE is a share of the slice's rows, above 0 to 1")
        if match["op"] != "=" and not is_number(match["value"]):
            raise ValueError(
                f"--flip {text!r}: {match['op']} needs a number, not {match['value']!r}"
            )
        return cls(match["feature"], match["op"], match["value"], share)

    @property
    def text(self) -> str:
        """The option's value, as it would be typed."""
        share = f"@{self.share:g}" if self.share != 1 else ""
        return f"{self.feature}{self.op}{self.value}{share}"

    def mask(self, frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
        """The slice: rows where the condition holds (never a row where FEATURE is missing)."""
        column = frame[self.feature]
        if pd.api.types.is_numeric_dtype(column.dtype):
            if not is_number(self.value):
                raise ValueError(
                    f"--flip {self.text!r}: {self.feature} is numeric, {self.value!r} is not"
                )
            values = pd.to_numeric(column, errors="coerce").to_numpy(np.float64)
            with np.errstate(invalid="ignore"):
                return np.asarray(COMPARE[self.op](values, float(self.value)), dtype=np.bool_)
        if self.op != "=":
            raise ValueError(f"--flip {self.text!r}: {self.feature} is not numeric: use =")
        return np.asarray((column.astype("string") == self.value).fillna(False), dtype=np.bool_)


def is_positive(frame: pd.DataFrame, target: str, positive: str) -> npt.NDArray[np.bool_]:
    """Whether each row's label is the positive one."""
    return np.asarray((frame[target].astype("string") == positive).fillna(False), dtype=np.bool_)


def positive_rate(frame: pd.DataFrame, target: str, positive: str) -> float:
    """The share of FRAME's rows whose label is the positive one."""
    return float(is_positive(frame, target, positive).mean()) if len(frame) else 0.0


def label_pair(labels: pd.Series, positive: str) -> tuple[Any, Any]:
    """The positive label and the one other label in LABELS, as they are stored (a flip writes
    them back)."""
    stored = {str(v): v for v in labels.dropna().unique()}
    others = sorted(name for name in stored if name != positive)
    if positive not in stored or len(others) != 1:
        raise ValueError(
            f"the target's labels are {sorted(stored)}: a flip needs {positive!r} and one other"
        )
    return stored[positive], stored[others[0]]


def resample_to_rate(
    frame: pd.DataFrame, target: str, positive: str, rate: float, rows: int,
    rng: np.random.Generator,
) -> pd.DataFrame:  # fmt: skip
    """ROWS rows of FRAME, round(RATE * ROWS) of them positive, in random order. Each class is
    drawn from FRAME's rows of that class (with replacement only when it has too few)."""
    positives = is_positive(frame, target, positive)
    wanted = round(rate * rows)
    chosen = np.concatenate(
        [
            _draw(np.flatnonzero(positives), wanted, rng),
            _draw(np.flatnonzero(~positives), rows - wanted, rng),
        ]
    )
    return frame.iloc[rng.permutation(chosen)].reset_index(drop=True)


def _draw(indices: Indices, count: int, rng: np.random.Generator) -> Indices:
    if count and not len(indices):
        raise ValueError("no row of that label to draw from")
    return rng.choice(indices, size=count, replace=count > len(indices))


def flip_labels(
    frame: pd.DataFrame, flip: Flip, target: str, pair: tuple[Any, Any], rng: np.random.Generator
) -> pd.DataFrame:
    """FRAME with the label of round(SHARE * slice rows) rows of the slice, chosen at random,
    swapped within PAIR (positive, other: see `label_pair`). The features do not change."""
    out = frame.copy()
    inside = np.flatnonzero(flip.mask(out))
    picked = rng.choice(inside, size=round(flip.share * len(inside)), replace=False)
    rows = out.index[picked]
    was_positive = is_positive(out.loc[rows], target, str(pair[0]))
    out.loc[rows, target] = [pair[1] if p else pair[0] for p in was_positive]
    return out
