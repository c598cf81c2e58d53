"""A simulated broken upstream column: one feature's values spoilt in every row, the way a faulty
feed spoils them, while the true labels stay those of the real values.

- `constant[:VALUE]`: every row holds VALUE (default: the column's most common value), as a feed
  stuck on one reading or a default filled in for everything;
- `missing`: every row is null, as a column dropped upstream;
- `scale:FACTOR`: every value times FACTOR (rounded where the feature holds integers), as units
  changed upstream (metres to millimetres is scale:1000).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from tabship.serving.simulate.covariate import is_number, like

BREAK = re.compile(r"^(?P<feature>[^=]+)=(?P<mode>constant|missing|scale)(:(?P<argument>.*))?$")
Mode = Literal["constant", "missing", "scale"]


@dataclass(frozen=True)
class Break:
    """FEATURE broken in every row: MODE, with its ARGUMENT (VALUE or FACTOR) where it takes one."""

    feature: str
    mode: Mode
    argument: str | None = None

    @classmethod
    def parse(cls, text: str) -> Break:
        match = BREAK.match(text)
        if match is None:
            raise ValueError(
                f"--break {text!r}: expected FEATURE=constant[:VALUE], FEATURE=missing or "
                "FEATURE=scale:FACTOR, e.g. fnlwgt=scale:1000"
            )
        mode, argument = cast("Mode", match["mode"]), match["argument"]
        if mode == "missing" and argument is not None:
            raise ValueError(f"--break {text!r}: missing takes no value")
        if mode == "scale" and not is_number(argument):
            raise ValueError(f"--break {text!r}: scale needs a number, e.g. scale:1000")
        return cls(match["feature"], mode, argument)

    @property
    def text(self) -> str:
        """The option's value, as it would be typed."""
        return f"{self.feature}={self.mode}" + (f":{self.argument}" if self.argument else "")

    def constant(self, column: pd.Series) -> Any:
        """The constant for COLUMN: VALUE in the column's kind, else its most common value."""
        if self.argument is None:
            common = column.mode(dropna=True)
            return common.iloc[0] if len(common) else None
        if pd.api.types.is_integer_dtype(column.dtype):
            try:
                return int(self.argument)
            except ValueError:
                raise ValueError(
                    f"--break {self.text!r}: {self.feature} holds integers, not {self.argument!r}"
                ) from None
        if pd.api.types.is_numeric_dtype(column.dtype):
            if not is_number(self.argument):
                raise ValueError(
                    f"--break {self.text!r}: {self.feature} holds numbers, not {self.argument!r}"
                )
            return float(self.argument)
        return self.argument

    def check(self, column: pd.Series) -> None:
        """Raise ValueError (naming the option) where COLUMN cannot be broken this way."""
        if self.mode == "scale" and not pd.api.types.is_numeric_dtype(column.dtype):
            raise ValueError(
                f"--break {self.text!r}: {self.feature} is not numeric: scale needs numbers"
            )
        if self.mode == "constant":
            self.constant(column)


def break_column(frame: pd.DataFrame, broken: Break) -> pd.DataFrame:
    """FRAME with BROKEN's feature spoilt in every row; every other column as it was."""
    out = frame.copy()
    column = out[broken.feature]
    value = broken.constant(column) if broken.mode == "constant" else None
    if broken.mode == "scale":
        out[broken.feature] = like(column * float(cast("str", broken.argument)), column)
    elif value is None:  # missing, or the constant of a column that has no value at all
        out[broken.feature] = column.where(np.zeros(len(column), dtype=np.bool_))
    else:
        out[broken.feature] = pd.Series([value] * len(column), index=out.index, dtype=column.dtype)
    return out
