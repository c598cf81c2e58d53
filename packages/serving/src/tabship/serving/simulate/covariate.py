"""Simulated production traffic, the covariate shifts: what moves the features' distributions.

`tabship-serving simulate` takes holdout rows, shifts them on purpose (these shifts; the label's in
labelshift.py; a broken upstream column in breakage.py; the order in traffic.py), sends them to a
running service or straight into a prediction log (delivery.py), and writes their true labels as
`prediction_id,label` files (groundtruth.py). It is seeded, so a run can be reproduced. The shifts
are plain functions of a frame:
- `resample_by`: covariate shift by resampling rows with weights exp(k * z) of one numeric
  feature's z-score (exponential tilting): its mean moves by about k standard deviations while
  every row stays a real row;
- `offset`: one numeric feature's values move by k standard deviations (rounded where the
  feature holds integers), and nothing else changes: drift on exactly that feature;
- `move_share`: SHARE of all rows change one categorical feature from one category to another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SHIFT = re.compile(r"^(?P<feature>[^=]+)=(?P<sd>[-+]?\d+(\.\d+)?)$")
MOVE = re.compile(r"^(?P<feature>[^:]+):(?P<source>[^>]+)>(?P<target>[^=]+)=(?P<share>\d*\.?\d+)$")


@dataclass(frozen=True)
class Shift:
    """Resample by FEATURE so that its mean moves by SD standard deviations."""

    feature: str
    sd: float

    @classmethod
    def parse(cls, text: str, option: str = "--shift") -> Shift:
        match = SHIFT.match(text)
        if match is None:
            raise ValueError(f"{option} {text!r}: expected FEATURE=SD, e.g. age=0.5")
        return cls(match["feature"], float(match["sd"]))

    @property
    def text(self) -> str:
        """The option's value, as it would be typed."""
        return f"{self.feature}={self.sd:g}"


@dataclass(frozen=True)
class Move:
    """SHARE of all rows have FEATURE changed from SOURCE to TARGET."""

    feature: str
    source: str
    target: str
    share: float

    @classmethod
    def parse(cls, text: str) -> Move:
        match = MOVE.match(text)
        if match is None:
            raise ValueError(
                f"--move {text!r}: expected FEATURE:FROM>TO=SHARE, e.g. sex:Male>Female=0.1"
            )
        if float(match["share"]) > 1:
            raise ValueError(f"--move {text!r}: SHARE is a share of all rows, from 0 to 1")
        return cls(match["feature"], match["source"], match["target"], float(match["share"]))

    @property
    def text(self) -> str:
        """The option's value, as it would be typed."""
        return f"{self.feature}:{self.source}>{self.target}={self.share:g}"


def resample_by(
    frame: pd.DataFrame, shift: Shift, rows: int, rng: np.random.Generator
) -> pd.DataFrame:
    """ROWS rows drawn from FRAME with weights exp(sd * z) of the feature's z-score."""
    values = pd.to_numeric(frame[shift.feature], errors="coerce").astype("float64")
    spread = float(values.std()) or 1.0
    z = ((values - float(values.mean())) / spread).fillna(0.0).to_numpy()
    weights = np.exp(shift.sd * z)
    chosen = rng.choice(len(frame), size=rows, replace=True, p=weights / weights.sum())
    return frame.iloc[chosen].reset_index(drop=True)


def offset(frame: pd.DataFrame, shift: Shift) -> pd.DataFrame:
    """FRAME with the feature's values moved by SD of its standard deviations."""
    out = frame.copy()
    values = out[shift.feature]
    out[shift.feature] = like(values + shift.sd * float(values.std()), values)
    return out


def like(moved: pd.Series, original: pd.Series) -> pd.Series:
    """MOVED in ORIGINAL's dtype: rounded where it holds integers (a request's integer field
    refuses 40.5)."""
    if pd.api.types.is_integer_dtype(original.dtype):
        return moved.round().astype(original.dtype)
    return moved


def move_share(frame: pd.DataFrame, move: Move, rng: np.random.Generator) -> pd.DataFrame:
    """FRAME with SHARE of its rows (at most those in SOURCE) moved to TARGET."""
    out = frame.copy()
    candidates = np.flatnonzero((out[move.feature] == move.source).to_numpy())
    count = min(len(candidates), round(move.share * len(out)))
    picked = rng.choice(candidates, size=count, replace=False)
    out.loc[out.index[picked], move.feature] = move.target
    return out


def is_number(text: str | None) -> bool:
    """Whether TEXT is a finite number (an option's value)."""
    try:
        return text is not None and bool(np.isfinite(float(text)))
    except ValueError:
        return False


def records(frame: pd.DataFrame, fields: Sequence[str]) -> list[dict[str, Any]]:
    """FRAME's request FIELDS as JSON-ready records (missing values as None)."""
    objects = frame[list(fields)].astype(object)
    objects = objects.where(frame[list(fields)].notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in objects.to_dict(orient="records")
    ]
