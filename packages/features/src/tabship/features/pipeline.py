"""The fitted feature pipeline: learned on training rows, saved as JSON, identical in serving.

The matrix layout is: numeric columns, derived columns, categorical columns (as integer codes, NaN for
missing or unseen), then missing-value indicators. LightGBM reads the codes as categorical features.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tabship.features.spec import FORMAT_VERSION, FeatureSpec, SpecError, spec_from_dict

Matrix = npt.NDArray[np.float64]


class UnseenCategoryError(ValueError):
    """A category not seen at fit time, under the `error` policy.

    RECORD is the row's position in the input, FIELD the column and VALUE the category, so callers
    (the service's error body) read the facts rather than parse the message.
    """

    def __init__(self, record: int, field: str, value: object) -> None:
        self.record = record
        self.field = field
        self.value = value
        super().__init__(
            f"record {record}: field '{field}': category {value!r} was not seen in training"
        )


class PipelineFileError(ValueError):
    """A saved pipeline that cannot be read; the message names the file and the fault."""


@dataclass(frozen=True)
class Transformed:
    """A feature matrix and what the transform noticed on the way."""

    matrix: Matrix
    unseen: dict[str, int] = field(default_factory=dict)


def is_missing(value: object) -> bool:
    """None, NaN and pandas' NA all mean missing."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


@dataclass(frozen=True)
class FittedPipeline:
    """A feature spec plus the state learned at fit time (the categories of each column)."""

    spec: FeatureSpec
    categories: dict[str, tuple[str, ...]]
    fitted_rows: int

    @property
    def feature_names(self) -> list[str]:
        """Column names of the matrix, in order."""
        return [
            *self.spec.numeric,
            *(d.name for d in self.spec.derived),
            *self.spec.categorical,
            *(f"{c}__missing" for c in self.spec.missing_indicators),
        ]

    @cached_property
    def _lookups(self) -> dict[str, dict[str, int]]:
        # Category -> code, built once per loaded pipeline rather than once per request.
        return {name: {c: i for i, c in enumerate(cats)} for name, cats in self.categories.items()}

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical codes in the matrix, for LightGBM."""
        start = len(self.spec.numeric) + len(self.spec.derived)
        return list(range(start, start + len(self.spec.categorical)))

    # -- transforming ------------------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame) -> Transformed:
        """Transform a DataFrame holding at least the input columns.

        Categorical columns are encoded per category, not per value (pandas categoricals pass
        through as they are): no Python string per row, which is what a large frame needs.
        """
        missing = [c for c in self.spec.input_columns if c not in frame.columns]
        if missing:
            raise KeyError(f"input lacks column(s): {', '.join(missing)}")
        numeric = {c: frame[c].to_numpy() for c in self.spec.numeric}
        encoded = {c: _encode_series(frame[c], self._lookups[c]) for c in self.spec.categorical}
        absent = {c: frame[c].isna().to_numpy() for c in self.spec.missing_indicators}
        return self._assemble(numeric, encoded, absent, len(frame), lambda c, i: frame[c].iloc[i])

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> Transformed:
        """Transform a list of records (dicts), without building a DataFrame."""
        columns: dict[str, npt.NDArray[Any]] = {}
        for name in self.spec.input_columns:
            values = np.empty(len(records), dtype=object)
            for index, record in enumerate(records):
                values[index] = record.get(name)
            columns[name] = values
        return self._assemble(
            {name: columns[name] for name in self.spec.numeric},
            {name: _encode(columns[name], self._lookups[name]) for name in self.spec.categorical},
            {name: _missing_mask(columns[name]) for name in self.spec.missing_indicators},
            len(records),
            lambda c, i: columns[c][i],
        )

    def transform_one(self, record: Mapping[str, Any]) -> Transformed:
        """`transform_records([record])`, value by value in Python: for one record the numpy
        calls per column cost more than the values (a test holds the two equal, NaN for NaN)."""
        spec, row, unseen = self.spec, [], {}
        numbers: dict[str, float] = {}
        for name in spec.numeric:
            value: Any = record.get(name)
            numbers[name] = math.nan if is_missing(value) else float(value)
            row.append(numbers[name])
        for derived in spec.derived:  # numpy's arithmetic, exactly as the vectorised path
            inputs = [np.array([numbers[c]], dtype=np.float64) for c in derived.columns]
            row.append(float(_derive(derived.op, inputs)[0]))
        for name in spec.categorical:
            value = record.get(name)
            code = None if is_missing(value) else self._lookups[name].get(str(value))
            if code is None and not is_missing(value):
                if spec.unseen_category == "error":
                    raise UnseenCategoryError(0, name, value)
                unseen[name] = 1
            row.append(math.nan if code is None else float(code))
        row += [float(is_missing(record.get(name))) for name in spec.missing_indicators]
        return Transformed(matrix=np.array([row], dtype=np.float64), unseen=unseen)

    def _assemble(
        self,
        numeric_columns: Mapping[str, npt.NDArray[Any]],
        encoded: Mapping[str, tuple[Matrix, int, int]],
        absent: Mapping[str, npt.NDArray[np.bool_]],
        n_rows: int,
        value_at: Callable[[str, int], object],
    ) -> Transformed:
        """The matrix from each column's values, codes and missing mask; VALUE_AT(column, row)
        gives an input value for the unseen-category error."""
        matrix = np.empty((n_rows, len(self.feature_names)), dtype=np.float64)
        numeric = {name: _as_float(numeric_columns[name]) for name in self.spec.numeric}
        position = 0
        for name in self.spec.numeric:
            matrix[:, position] = numeric[name]
            position += 1
        for derived in self.spec.derived:
            matrix[:, position] = _derive(derived.op, [numeric[c] for c in derived.columns])
            position += 1
        unseen: dict[str, int] = {}
        for name in self.spec.categorical:
            codes, n_unseen, first_unseen = encoded[name]
            if n_unseen:
                if self.spec.unseen_category == "error":
                    raise UnseenCategoryError(first_unseen, name, value_at(name, first_unseen))
                unseen[name] = n_unseen
            matrix[:, position] = codes
            position += 1
        for name in self.spec.missing_indicators:
            matrix[:, position] = absent[name]
            position += 1
        return Transformed(matrix=matrix, unseen=unseen)

    # -- saving ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: format version, spec, learned categories and feature names."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": "tabship.features.FittedPipeline",
            "spec": self.spec.to_dict(),
            "categories": {name: list(values) for name, values in self.categories.items()},
            "fitted_rows": self.fitted_rows,
            "feature_names": self.feature_names,
        }

    def to_json(self) -> str:
        """Deterministic JSON text (sorted keys), so the same fit gives the same bytes."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file in the same folder, then a rename."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(self.to_json())
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def pipeline_from_dict(data: Mapping[str, Any], where: str = "<memory>") -> FittedPipeline:
    """Rebuild a fitted pipeline from its JSON form, checking the format version."""
    if data.get("format_version") != FORMAT_VERSION:
        raise PipelineFileError(
            f"{where}: format_version {data.get('format_version')!r} is not supported (want 1)"
        )
    try:
        spec = spec_from_dict(data["spec"], where)
        categories = {str(k): tuple(str(v) for v in vs) for k, vs in data["categories"].items()}
        fitted = FittedPipeline(spec, categories, int(data["fitted_rows"]))
    except (KeyError, TypeError, AttributeError, SpecError) as error:
        raise PipelineFileError(f"{where}: not a fitted pipeline ({error})") from None
    lacking = [c for c in spec.categorical if c not in categories]
    if lacking:
        raise PipelineFileError(f"{where}: no categories for {', '.join(lacking)}")
    if data.get("feature_names", fitted.feature_names) != fitted.feature_names:
        raise PipelineFileError(f"{where}: feature_names do not match the spec")
    return fitted


def load_pipeline(path: Path) -> FittedPipeline:
    """Read a pipeline saved by `FittedPipeline.save`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineFileError(f"{path}: no such file") from None
    except json.JSONDecodeError as error:
        raise PipelineFileError(f"{path}: line {error.lineno}: not valid JSON") from None
    return pipeline_from_dict(data, str(path))


def category_counts(frame: pd.DataFrame, spec: FeatureSpec) -> dict[str, dict[str, int]]:
    """How often each category occurs in FRAME, per categorical column: everything `fit` learns.

    Counts add up, so a partitioned dataset's counts are the sum of its partitions' (the Dask
    engine fits the pipeline this way, with the same result as one fit on all the rows).
    """
    missing = [c for c in spec.input_columns if c not in frame.columns]
    if missing:
        raise KeyError(f"training data lacks column(s): {', '.join(missing)}")
    counts: dict[str, dict[str, int]] = {}
    for name in spec.categorical:
        found: dict[str, int] = {}
        for value, rows in frame[name].value_counts(dropna=True).items():
            if rows:  # a categorical column lists its unused categories with a zero
                found[str(value)] = found.get(str(value), 0) + int(rows)
        counts[name] = found
    return counts


def add_counts(
    left: Mapping[str, Mapping[str, int]], right: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """The category counts of two sets of rows together."""
    total = {name: dict(values) for name, values in left.items()}
    for name, values in right.items():
        into = total.setdefault(name, {})
        for value, rows in values.items():
            into[value] = into.get(value, 0) + rows
    return total


def fit_counts(
    spec: FeatureSpec, counts: Mapping[str, Mapping[str, int]], rows: int
) -> FittedPipeline:
    """The pipeline learned from category COUNTS (`category_counts`) of ROWS training rows."""
    categories: dict[str, tuple[str, ...]] = {}
    for name in spec.categorical:
        found = counts.get(name, {})
        kept = [value for value, n in found.items() if n >= spec.min_category_count]
        # Sorted, so the codes do not depend on the order the rows arrived in.
        categories[name] = tuple(sorted(kept))
    return FittedPipeline(spec=spec, categories=categories, fitted_rows=rows)


def fit(frame: pd.DataFrame, spec: FeatureSpec) -> FittedPipeline:
    """Learn the categories of each categorical column from the training rows only."""
    return fit_counts(spec, category_counts(frame, spec), len(frame))


# -- column operations, shared by the DataFrame and the records paths -----------------------------


def _missing_mask(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((is_missing(v) for v in values), dtype=bool, count=len(values))


def _as_float(values: npt.NDArray[Any]) -> Matrix:
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    out = np.empty(len(values), dtype=np.float64)
    for index, value in enumerate(values):
        out[index] = math.nan if is_missing(value) else float(value)
    return out


def _derive(op: str, inputs: list[Matrix]) -> Matrix:
    # `where=` rather than np.errstate: the context manager cost more than the arithmetic on the
    # one-row matrices a server scores. Inputs are finite or NaN (validation refuses infinity).
    if op == "subtract":
        return inputs[0] - inputs[1]
    if op == "add":
        return inputs[0] + inputs[1]
    out = np.full(len(inputs[0]), np.nan)
    if op == "ratio":
        np.divide(inputs[0], inputs[1], out=out, where=inputs[1] != 0)
    elif op == "log1p":
        np.log1p(inputs[0], out=out, where=inputs[0] > -1)
    else:
        raise ValueError(f"unknown derived op {op!r}")
    out[~np.isfinite(out)] = np.nan
    return out


def _encode_series(values: pd.Series, lookup: Mapping[str, int]) -> tuple[Matrix, int, int]:
    """`_encode` of a column, per category rather than per value: each distinct value is looked
    up once (as its text, like `_encode`), and the rows take their category's code."""
    column = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    table = np.array(
        [lookup.get(str(value), -1) for value in column.cat.categories] + [-2], dtype=np.int64
    )
    # Code -1 (missing) picks the table's last entry, -2: missing stays apart from unseen (-1).
    mapped = table[column.cat.codes.to_numpy()]
    codes = mapped.astype(np.float64)
    codes[mapped < 0] = math.nan
    unseen = mapped == -1
    n_unseen = int(unseen.sum())
    return codes, n_unseen, int(np.argmax(unseen)) if n_unseen else -1


def _encode(values: npt.NDArray[Any], lookup: Mapping[str, int]) -> tuple[Matrix, int, int]:
    """Integer codes as floats (NaN for missing and unseen), the unseen count and the first one.

    One pass in Python: for the one-record requests a server sees, a handful of numpy calls per
    column cost more than the loop, and for bulk frames the loop was there already.
    """
    codes: list[float] = []
    unseen, first = 0, -1
    for index, value in enumerate(values):
        if is_missing(value):
            codes.append(math.nan)
            continue
        code = lookup.get(str(value))
        if code is None:
            unseen += 1
            first = index if first < 0 else first
            codes.append(math.nan)
        else:
            codes.append(code)
    return np.asarray(codes, dtype=np.float64), unseen, first
