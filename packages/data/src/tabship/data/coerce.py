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

from tabship.data.config import ReaderOptions
from tabship.data.errors import ConfigError
from tabship.data.schema import FAILURE_SCHEMA, DatasetSchema, empty_failures

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
    value as read), so the caller quarantines its row.
    """
    frame = frame.with_row_index(ROW)
    typed: list[pl.Series] = [frame[ROW]]
    failures: list[pl.DataFrame] = []
    for column, dtype in schema.dtypes.items():
        values = frame[column]
        if values.dtype == pl.String:
            values = _null_missing_tokens(values, options.na_values, counts)
            if column == target and options.strip_label_suffix:
                values = _strip_suffix(values, options.strip_label_suffix, source, counts)
        if values.dtype == dtype:
            typed.append(values)
            continue
        cast = _cast(values, dtype)
        if values.dtype != pl.String:
            _count_cast(counts, column, values, dtype)
        failed = values.is_not_null() & cast.is_null()
        if failed.any():
            failures.append(
                pl.DataFrame(
                    {
                        ROW: frame[ROW].filter(failed),
                        "column": pl.repeat(column, int(failed.sum()), eager=True),
                        "check": pl.repeat(f"dtype('{dtype}')", int(failed.sum()), eager=True),
                        "value": values.filter(failed).cast(pl.String),
                    },
                    schema=FAILURE_SCHEMA,
                )
            )
        typed.append(cast)
    result = pl.DataFrame(typed)
    return result, pl.concat(failures) if failures else empty_failures()


def _null_missing_tokens(
    values: pl.Series, tokens: tuple[str, ...], counts: CoercionCounts
) -> pl.Series:
    if not tokens:
        return values
    hit = values.is_in(tokens)
    if not hit.any():
        return values
    for token, rows in values.filter(hit).value_counts().iter_rows():
        counts.add_missing(values.name, str(token), int(rows))
    return pl.select(pl.when(hit).then(None).otherwise(values).alias(values.name)).to_series()


def _strip_suffix(values: pl.Series, suffix: str, source: str, counts: CoercionCounts) -> pl.Series:
    ends = values.str.ends_with(suffix)
    rows = int(ends.sum())
    if rows:
        counts.label_suffix_stripped[source] += rows
        return values.str.strip_suffix(suffix)
    return values


def _cast(values: pl.Series, dtype: pl.DataType) -> pl.Series:
    try:
        return values.cast(dtype, strict=False)
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(
            f"column {values.name!r}: cannot convert {values.dtype} to the schema's {dtype}: {exc}"
        ) from None


def _count_cast(counts: CoercionCounts, column: str, values: pl.Series, dtype: pl.DataType) -> None:
    entry = counts.casts.setdefault(
        column, {"from": str(values.dtype), "to": str(dtype), "rows": 0}
    )
    rows = entry["rows"]
    assert isinstance(rows, int)
    entry["rows"] = rows + int(values.is_not_null().sum())
