"""Bring raw values to the schema's dtypes, counting every change and never hiding a failure.

Three changes are allowed, and each is counted for the report: a configured missing-value token
(such as Adult's `?`) becomes null, a configured suffix is stripped from the target label (Adult's
test file writes `>50K.`), and a value is cast to the schema's dtype. A value that does not cast
is a row-level fault: the row is quarantined with the value as it was read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from tabship.data.config.dataset import ReaderOptions
from tabship.data.config.schema import FAILURE_SCHEMA, DatasetSchema, empty_failures
from tabship.data.errors import ConfigError

ROW = "_row"  # the row's position in its chunk: ties failures back to rows


@dataclass
class CoercionCounts:
    """What coerce() changed, summed over every chunk of a run."""

    missing: dict[str, Counter[str]] = field(default_factory=dict)  # column -> token -> rows
    label_suffix_stripped: Counter[str] = field(default_factory=Counter)  # source -> rows
    casts: dict[str, dict[str, object]] = field(default_factory=dict)  # column -> from/to/rows

    def add_missing(self, column: str, token: str, rows: int) -> None:
        self.missing.setdefault(column, Counter())[token] += rows


def coerce(
    frame: pl.DataFrame,
    schema: DatasetSchema,
    options: ReaderOptions,
    *,
    target: str,
    source: str,
    counts: CoercionCounts,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return FRAME's data columns in the schema's dtypes (plus `_row`), and the cast failures.

    A value that fails to cast is null in the returned frame and listed in the failures (with the
    value as read), so the caller quarantines its row. All columns are built in one polars query,
    so they are computed in parallel.
    """
    frame = frame.with_row_index(ROW)
    cleaned: list[pl.Expr] = []
    typed: list[pl.Expr] = [pl.col(ROW)]
    tallies: list[pl.Expr] = []
    fails: list[tuple[str, str, pl.DataType]] = []
    for column, dtype in schema.dtypes.items():
        value = pl.col(column)
        if frame.schema[column] == pl.String:
            for token in options.na_values:
                tallies.append((value == token).sum().alias(f"na\x1f{column}\x1f{token}"))
            if options.na_values:
                value = pl.when(value.is_in(options.na_values)).then(None).otherwise(value)
            suffix = options.strip_label_suffix
            if column == target and suffix:
                tallies.append(value.str.ends_with(suffix).sum().alias("suffix"))
                value = value.str.strip_suffix(suffix)
        cleaned.append(value.alias(column))
        if frame.schema[column] == dtype:
            typed.append(pl.col(column))
            continue
        if frame.schema[column] != pl.String:
            tallies.append(pl.col(column).is_not_null().sum().alias(f"cast\x1f{column}"))
        typed.append(pl.col(column).cast(dtype, strict=False))
        failed = pl.col(column).is_not_null() & pl.col(column).cast(dtype, strict=False).is_null()
        typed.append(failed.alias(f"{_FAILED}{column}"))
        fails.append((column, _rule(column, dtype, target), frame.schema[column]))
    # One lazy query for the typed columns and one for the tallies, run together: polars
    # computes each cast once (shared by the value and its failure flag) and never copies FRAME.
    flags = [f"{_FAILED}{column}" for column, _, _ in fails]
    queries = [frame.lazy().select(pl.col(ROW), *cleaned).select(typed)]
    if tallies:
        queries.append(frame.lazy().select(tallies))
    try:
        result, *tallied = pl.collect_all(queries)
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"cannot convert a column to the schema's dtype: {exc}") from None
    if tallied:
        _count(counts, tallied[0].row(0, named=True), source, frame.schema, schema)
    failing = result.select(pl.col(flags).any()).row(0, named=True) if flags else {}
    failures = [
        result.filter(pl.col(flag)).select(
            pl.col(ROW),
            pl.lit(column).alias("column"),
            pl.lit(rule).alias("check"),
            frame[column].filter(result[flag]).cast(pl.String).alias("value"),
        )
        for (column, rule, _), flag in zip(fails, flags, strict=True)
        if failing[flag]
    ]
    result = result.drop(flags)
    if not failures:
        return result, empty_failures()
    return result, pl.concat(failures).cast(FAILURE_SCHEMA)  # type: ignore[arg-type]


_FAILED = "_failed\x1f"


def _rule(column: str, dtype: pl.DataType, target: str) -> str:
    """The name a cast failure gets in the quarantine and the report."""
    if isinstance(dtype, pl.Enum):
        # The Enum's category list is the schema's rule, so name the rule, not the dtype.
        return "unknown_label" if column == target else "unknown_category"
    return f"dtype('{dtype}')"


def _count(
    counts: CoercionCounts,
    tallies: dict[str, object],
    source: str,
    read: pl.Schema,
    schema: DatasetSchema,
) -> None:
    for name, value in tallies.items():
        rows = int(str(value or 0))
        kind, *rest = name.split("\x1f")
        if kind == "na" and rows:
            counts.add_missing(rest[0], rest[1], rows)
        elif kind == "suffix" and rows:
            counts.label_suffix_stripped[source] += rows
        elif kind == "cast":
            column = rest[0]
            entry = counts.casts.setdefault(
                column,
                {"from": str(read[column]), "to": str(schema.dtypes[column]), "rows": 0},
            )
            previous = entry["rows"]
            assert isinstance(previous, int)
            entry["rows"] = previous + rows
