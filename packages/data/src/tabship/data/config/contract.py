"""The request contract of a dataset: one `FieldSpec` per column except the target.

The pandera schema that validates ingested data also says what a scoring request may contain, so a
column, a range or a category list is written once. Training saves the fields with the run, as
`fields_to_json`'s document; serving reads that document back and never needs this package's
configs, pandera or polars (polars is imported only by `request_fields`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import polars as pl

    from tabship.data.config.dataset import DatasetConfig
    from tabship.data.config.schema import DatasetSchema

Kind = Literal["integer", "number", "string", "boolean"]
FIELDS_FORMAT = 1


@dataclass(frozen=True)
class FieldSpec:
    """One request field: its JSON type, whether null is allowed, its bounds or categories."""

    name: str
    kind: Kind
    nullable: bool
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    categories: tuple[str, ...] | None = None


def fields_to_json(fields: Sequence[FieldSpec]) -> str:
    """The JSON document saved with the run and beside the served model."""
    document = {"format_version": FIELDS_FORMAT, "fields": [asdict(f) for f in fields]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def fields_from_json(text: str) -> list[FieldSpec]:
    """Read `fields_to_json`'s document back."""
    document = json.loads(text)
    if document.get("format_version") != FIELDS_FORMAT:
        found = document.get("format_version")
        raise ValueError(f"request schema format {found!r} is not {FIELDS_FORMAT}")
    fields = []
    for raw in document["fields"]:
        categories = raw.get("categories")
        values = {**raw, "categories": tuple(categories) if categories is not None else None}
        fields.append(FieldSpec(**values))
    return fields


def _kind(dtype: pl.DataType) -> Kind:
    import polars as pl

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
    import polars as pl

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
