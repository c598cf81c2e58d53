"""The request contract, read from the dataset's config and pandera schema (target excluded).

The pandera schema that validates ingested data also says what a request may contain, so a column,
a range or a category list is written once. Used at build time only: it imports pandera and polars,
which the running service does not need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from tabship.data import DatasetConfig, DatasetSchema
from tabship.serving.schema import FieldSpec, Kind


def _kind(dtype: pl.DataType) -> Kind:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or dtype.is_decimal():
        return "number"
    if isinstance(dtype, pl.Boolean):
        return "boolean"
    return "string"


def _bounds(checks: Sequence[Any]) -> dict[str, float]:
    """pandera's range checks as pydantic's ge/gt/le/lt."""
    out: dict[str, float] = {}
    for check in checks:
        stats = check.statistics or {}
        if check.name == "in_range":
            out["ge" if stats.get("include_min", True) else "gt"] = stats["min_value"]
            out["le" if stats.get("include_max", True) else "lt"] = stats["max_value"]
        elif check.name == "greater_than":
            out["gt"] = stats["min_value"]
        elif check.name == "greater_than_or_equal_to":
            out["ge"] = stats["min_value"]
        elif check.name == "less_than":
            out["lt"] = stats["max_value"]
        elif check.name == "less_than_or_equal_to":
            out["le"] = stats["max_value"]
    return out


def _categories(dtype: pl.DataType, checks: Sequence[Any]) -> tuple[str, ...] | None:
    # Categories live either in an Enum dtype or in an isin check, depending on the schema file.
    if isinstance(dtype, pl.Enum):
        return tuple(str(c) for c in dtype.categories.to_list())
    for check in checks:
        stats = check.statistics or {}
        if check.name == "isin" and "allowed_values" in stats:
            return tuple(str(v) for v in stats["allowed_values"])
    return None


def request_fields(config: DatasetConfig, schema: DatasetSchema) -> list[FieldSpec]:
    """Every column of the dataset except the target, in the config's order."""
    fields = []
    for name in config.columns:
        if name == config.target.column:
            continue
        dtype = schema.dtypes[name]
        checks = schema.pandera.columns[name].checks
        fields.append(
            FieldSpec(
                name=name,
                kind=_kind(dtype),
                nullable=schema.nullable[name],
                categories=_categories(dtype, checks),
                **_bounds(checks),
            )
        )
    return fields
