"""Infer a dataset's pandera schema from its rows, then tighten it for ingest.

pandera's own inference (`pandera.infer_schema`, on a typed pandas frame) gives each column's
nullability and observed range. It is then tightened into the polars schema that ingest runs:
few distinct strings become a category list (a polars Enum, so an unknown category is
quarantined), numeric ranges are widened by a margin (new data rarely stops exactly at the
training extremes), and columns whose every value is distinct are proposed as keys.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
import pandera.pandas as pa
import pandera.polars as pa_pl
import polars as pl

from tabship.data.errors import DataError
from tabship.data.scaffold.sniff import RawTable, column_values

Kind = Literal["integer", "number", "category", "text", "target"]
MAX_CATEGORIES = 50  # more distinct strings than this is text (or an ID), not a category
RANGE_MARGIN = 0.1  # numeric ranges are widened by this share of the observed range
GROUP_MAX = 10  # categorical columns with 2..GROUP_MAX values are proposed as card groups
ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid|guid)$|^id[_\W]|^(id|key|uuid|guid)$", re.IGNORECASE)


@dataclass
class ColumnFacts:
    """What was inferred about one column, and why, for the config's comments."""

    name: str
    kind: Kind
    nullable: bool
    distinct: int
    note: str = ""
    categories: list[str] = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    is_key: bool = False


@dataclass(frozen=True)
class Inferred:
    """The tightened schema and the per-column facts behind it."""

    schema: pa_pl.DataFrameSchema
    columns: list[ColumnFacts]
    labels: tuple[str, str]

    def of_kind(self, *kinds: Kind) -> list[str]:
        return [c.name for c in self.columns if c.kind in kinds and not c.is_key]

    @property
    def keys(self) -> list[str]:
        return [c.name for c in self.columns if c.is_key]

    @property
    def group_candidates(self) -> list[str]:
        return [
            c.name
            for c in self.columns
            if c.kind == "category" and not c.is_key and 2 <= c.distinct <= GROUP_MAX
        ]


def _parse(values: list[str | None], kind: Kind) -> pd.Series:
    if kind == "integer":
        return pd.Series([None if v is None else int(v) for v in values], dtype="Int64")
    if kind == "number":
        return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
    return pd.Series(values, dtype="string")


def _kind_of(values: list[str | None]) -> Kind:
    present = [v for v in values if v is not None]
    try:
        for v in present:
            int(v)
        return "integer"
    except ValueError:
        pass
    try:
        for v in present:
            float(v)
        return "number"
    except ValueError:
        pass
    return "category" if len(set(present)) <= MAX_CATEGORIES else "text"


def _is_key(name: str, kind: Kind, values: pd.Series) -> bool:
    """Every value distinct, and an ID by its name, its type (text), or as a run of integers."""
    present = values.dropna()
    if len(present) < 20 or present.nunique() != len(values):
        return False
    if ID_NAME.search(name) or kind == "text":
        return True
    return kind == "integer" and int(present.max()) - int(present.min()) + 1 == len(present)


def _widened(low: float, high: float, integer: bool) -> tuple[float, float]:
    margin = (high - low) * RANGE_MARGIN or max(abs(high) * RANGE_MARGIN, 1.0)
    new_low = low - margin
    if low >= 0 > new_low:
        new_low = 0.0  # a count or an amount that never went below zero is not given room to
    new_high = high + margin
    if integer:
        return float(math.floor(new_low)), float(math.ceil(new_high))
    return new_low, new_high


def infer(table: RawTable, target: str, positive: str, na_values: tuple[str, ...]) -> Inferred:
    """The schema for TABLE, whose TARGET has exactly two labels, POSITIVE among them.
    DataError (one line) when the target is missing, has other than two labels, or never takes
    the positive value."""
    if target not in table.columns:
        raise DataError(
            f"no column {target!r} (columns: {', '.join(table.columns)})",
            path=table.path,
            column=target,
        )
    missing = set(na_values)
    raw = {
        name: [None if v in missing else v for v in column_values(table, name)]
        for name in table.columns
    }
    labels = sorted({v for v in raw[target] if v is not None})
    if len(labels) != 2:
        shown = ", ".join(labels[:10]) + (", ..." if len(labels) > 10 else "")
        raise DataError(
            f"target {target!r} has {len(labels)} distinct values ({shown}); "
            "a binary target needs exactly two",
            path=table.path,
            column=target,
        )
    if positive not in labels:
        raise DataError(
            f"positive value {positive!r} never occurs in {target!r} (its values: "
            f"{', '.join(labels)})",
            path=table.path,
            column=target,
        )
    kinds: dict[str, Kind] = {n: "target" if n == target else _kind_of(v) for n, v in raw.items()}
    frame = pd.DataFrame({n: _parse(v, kinds[n]) for n, v in raw.items()})
    # pandera's inference: nullability and the observed range of every column.
    inferred = pa.infer_schema(frame)
    facts = [_facts(n, kinds[n], frame[n], inferred.columns[n]) for n in table.columns]
    schema = pa_pl.DataFrameSchema(
        {f.name: _column(f, labels) for f in facts}, strict=True, name=None
    )
    return Inferred(schema=schema, columns=facts, labels=(labels[0], labels[1]))


def _facts(name: str, kind: Kind, values: pd.Series, column: pa.Column) -> ColumnFacts:
    present = values.dropna()
    facts = ColumnFacts(
        name=name, kind=kind, nullable=bool(column.nullable), distinct=int(present.nunique())
    )
    if kind == "target":
        facts.nullable = False  # a row without a label cannot be trained on: quarantine it
        facts.note = "the target"
        return facts
    facts.is_key = _is_key(name, kind, values)
    if kind in ("category", "target"):
        facts.categories = sorted(str(v) for v in present.unique())
    if kind in ("integer", "number") and len(present):
        stats = {check.name: check.statistics for check in column.checks}
        low = float(stats.get("greater_than_or_equal_to", {}).get("min_value", present.min()))
        high = float(stats.get("less_than_or_equal_to", {}).get("max_value", present.max()))
        facts.low, facts.high = _widened(low, high, kind == "integer")
        facts.note = (
            f"seen {_number(low)} to {_number(high)}; allowed {_number(facts.low)} to "
            f"{_number(facts.high)} ({RANGE_MARGIN:.0%} of the range added)"
        )
    elif kind == "category":
        facts.note = f"{facts.distinct} categories seen"
    elif kind == "text":
        facts.note = f"{facts.distinct} distinct strings: text, not a feature"
    if facts.is_key:
        facts.note = "every value distinct: proposed as the key, not a feature"
    if facts.nullable:
        facts.note += "; has missing values"
    return facts


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def _column(facts: ColumnFacts, labels: list[str]) -> pa_pl.Column:
    if facts.kind == "target":
        return pa_pl.Column(pl.Enum(labels), nullable=False)
    if facts.kind == "category" and not facts.is_key:
        return pa_pl.Column(pl.Enum(facts.categories), nullable=facts.nullable)
    if facts.kind in ("category", "text"):
        return pa_pl.Column(pl.String, nullable=facts.nullable)
    integer = facts.kind == "integer"
    dtype = pl.Int64 if integer else pl.Float64
    if facts.low is None or facts.high is None or facts.is_key:  # new rows bring new ids
        return pa_pl.Column(dtype, nullable=facts.nullable)
    low, high = (int(facts.low), int(facts.high)) if integer else (facts.low, facts.high)
    return pa_pl.Column(dtype, pa_pl.Check.in_range(low, high), nullable=facts.nullable)
