"""The dataset's pandera schema: load it from pandera's own YAML and run it over a typed chunk.

Validation uses pandera's polars backend (about ten times the throughput of its pandas backend on
this machine), lazily, so every failing value of every row is collected in one pass.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandera.io.polars_io as pandera_io
import pandera.polars as pa_pl
import polars as pl
import yaml
from pandera.errors import SchemaErrors

from tabship.data.config.dataset import DatasetConfig
from tabship.data.errors import ConfigError, DataError
from tabship.data.yamlfile import parse_config, read_config_text

# Column names of a failures frame: one row per (row, column, check) that failed.
FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "_row": pl.UInt32(),
    "column": pl.String(),
    "check": pl.String(),
    "value": pl.String(),
}


@dataclass(frozen=True)
class DatasetSchema:
    """A loaded pandera schema plus the facts ingest needs from it."""

    pandera: pa_pl.DataFrameSchema
    dtypes: dict[str, pl.DataType]
    nullable: dict[str, bool]
    target_labels: tuple[str, ...] | None
    schema_hash: str


def empty_failures() -> pl.DataFrame:
    """A failures frame with no rows."""
    return pl.DataFrame(schema=FAILURE_SCHEMA)


def load_schema(config: DatasetConfig) -> DatasetSchema:
    """Load CONFIG's pandera YAML and check that it agrees with the config's columns and target."""
    path = config.schema_path
    text = read_config_text(path)
    # Checked by our reader first (size, aliases, tags: one line each); pandera reads it again.
    parse_config(text, path)
    try:
        loaded: Any = pandera_io.from_yaml(text)  # type: ignore[no-untyped-call]
    except Exception as exc:  # pandera raises assorted types for a bad document
        problem = " ".join(str(exc).split())[:300]  # pandera's messages span lines
        raise ConfigError(f"{path}: not a pandera polars schema: {problem}") from None
    if not isinstance(loaded, pa_pl.DataFrameSchema):
        raise ConfigError(f"{path}: expected a pandera polars DataFrameSchema")
    schema: pa_pl.DataFrameSchema = loaded
    names = list(schema.columns)
    if sorted(names) != sorted(config.columns):
        only_schema = sorted(set(names) - set(config.columns))
        only_config = sorted(set(config.columns) - set(names))
        raise ConfigError(
            f"{path}: schema columns differ from the config's: "
            f"only in schema {only_schema}, only in config {only_config}"
        )
    dtypes: dict[str, pl.DataType] = {}
    nullable: dict[str, bool] = {}
    for name, column in schema.columns.items():
        dtype = column.dtype.type if column.dtype is not None else pl.String
        dtypes[name] = dtype() if isinstance(dtype, type) else dtype
        nullable[name] = bool(column.nullable)
    labels = _allowed_values(schema, config.target.column)
    if labels is not None:
        if len(labels) != 2:
            raise ConfigError(
                f"{path}: target {config.target.column!r} must allow exactly two labels, "
                f"not {list(labels)}"
            )
        if config.target.positive not in labels:
            raise ConfigError(
                f"{config.config_path}: positive label {config.target.positive!r} is not one of "
                f"the schema's target labels {list(labels)}"
            )
    return DatasetSchema(
        pandera=schema,
        dtypes=dtypes,
        nullable=nullable,
        target_labels=labels,
        schema_hash=_schema_hash(text),
    )


def stored_dtype(dtype: pl.DataType) -> pl.DataType:
    """The dtype written to data.parquet: Enums become plain strings.

    Enums make validation fast, but downstream code expects plain string columns and should not
    depend on the category order the schema happens to list.
    """
    return pl.String() if isinstance(dtype, pl.Enum) else dtype


def _allowed_values(schema: pa_pl.DataFrameSchema, column: str) -> tuple[str, ...] | None:
    dtype = schema.columns[column].dtype
    if dtype is not None and isinstance(dtype.type, pl.Enum):
        return tuple(dtype.type.categories.to_list())
    for check in schema.columns[column].checks:
        stats = check.statistics or {}
        if check.name == "isin" and "allowed_values" in stats:
            return tuple(str(v) for v in stats["allowed_values"])
    return None


def _schema_hash(text: str) -> str:
    """sha256 of the schema document's canonical JSON: comments and layout do not count."""
    canonical = json.dumps(yaml.safe_load(text), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def validate(frame: pl.DataFrame, schema: DatasetSchema, source: Path | str) -> pl.DataFrame:
    """Run the pandera schema lazily over FRAME; return its failures (see `FAILURE_SCHEMA`).

    FRAME must already hold exactly the schema's columns in the schema's dtypes (coerce.py does
    that), so every failure pandera reports is tied to one row. A failure with no row (a
    dataframe-wide check) cannot be quarantined row by row, so it stops the run instead.
    """
    try:
        schema.pandera.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        if not isinstance(cases, pl.DataFrame):
            cases = pl.DataFrame(cases)
        whole = cases.filter(pl.col("index").is_null())
        if whole.height:
            first = whole.row(0, named=True)
            raise DataError(
                f"schema check {first['check']} failed for the whole file "
                f"(column {first['column']}): {first['failure_case']}",
                path=source,
                column=first["column"],
            ) from None
        return cases.select(
            pl.col("index").cast(pl.UInt32).alias("_row"),
            pl.col("column").cast(pl.String),
            pl.col("check").cast(pl.String),
            pl.col("failure_case").cast(pl.String).alias("value"),
        )
    return empty_failures()
