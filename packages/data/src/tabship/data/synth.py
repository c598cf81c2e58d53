"""Synthetic rows shaped like a dataset, as partitioned parquet: for the scale benchmarks and tests.

The shape comes from the dataset's own config and pandera schema: the same columns and dtypes,
each category list, each numeric range, nulls where the schema allows them. The label is drawn
from a logistic model of the columns (a hidden effect per category, a slope per numeric column,
both drawn once from the seed), so a model has a real signal to learn. A row's values depend only
on the seed and its partition, so partitions are written independently and a rerun writes the
same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from tabship.data.config.dataset import DatasetConfig
from tabship.data.config.schema import DatasetSchema
from tabship.data.errors import ConfigError

_NULL_SHARE = 0.02  # of a nullable column's values
_POSITIVE_RATE = 0.24  # about Adult's
_LOGIT_SD = 2.5  # the spread of the hidden logit: a Bayes ROC-AUC of about 0.9


@dataclass(frozen=True)
class _Column:
    """How one column is drawn, and its part in the label's logit."""

    name: str
    categories: tuple[str, ...]  # empty for a numeric column
    weights: npt.NDArray[np.float64]  # the categories' shares
    effects: npt.NDArray[np.float64]  # each category's logit effect
    low: float
    high: float
    integer: bool
    slope: float
    nullable: bool


def _bounds(schema: DatasetSchema, name: str) -> tuple[float, float]:
    """A numeric column's range from its schema checks (in_range, gt/ge, lt/le), else 0..100."""
    low, high = 0.0, 100.0
    for check in schema.pandera.columns[name].checks:
        stats = check.statistics or {}
        if "min_value" in stats and stats["min_value"] is not None:
            low = float(stats["min_value"])
        if "max_value" in stats and stats["max_value"] is not None:
            high = float(stats["max_value"])
        if check.name in ("greater_than", "greater_than_or_equal_to"):
            low = float(stats.get("min_value", low)) + (check.name == "greater_than")
            high = max(high, low + 1_000_000.0)
    return low, max(high, low + 1.0)


def _columns(cfg: DatasetConfig, schema: DatasetSchema, seed: int) -> list[_Column]:
    rng = np.random.default_rng([seed, 0])
    columns = []
    for name in cfg.columns:
        if name == cfg.target.column:
            continue
        dtype = schema.dtypes[name]
        nullable = schema.nullable[name]
        if isinstance(dtype, pl.Enum) or dtype == pl.String:
            labels = tuple(dtype.categories.to_list()) if isinstance(dtype, pl.Enum) else ()
            if not labels:
                raise ConfigError(f"{cfg.name}: column {name!r} has no category list to draw from")
            raw = rng.permutation(1.0 / np.arange(1, len(labels) + 1) ** 0.8)
            effects = rng.normal(0.0, 1.0, len(labels))
            columns.append(
                _Column(name, labels, raw / raw.sum(), effects, 0, 0, False, 0, nullable)
            )
        elif dtype.is_numeric():
            low, high = _bounds(schema, name)
            slope = float(rng.normal(0.0, 1.0))
            columns.append(_Column(name, (), np.empty(0), np.empty(0), low, high,
                                   dtype.is_integer(), slope, nullable))  # fmt: skip
        else:
            raise ConfigError(f"{cfg.name}: column {name!r} ({dtype}) cannot be drawn")
    return columns


def _partition(
    cfg: DatasetConfig,
    labels: tuple[str, ...],
    columns: list[_Column],
    rows: int,
    seed: int,
    index: int,
) -> pl.DataFrame:
    rng = np.random.default_rng([seed, 1, index])
    logit = np.zeros(rows)
    data: dict[str, pl.Series] = {}
    for column in columns:
        missing = rng.random(rows) < _NULL_SHARE if column.nullable else np.zeros(rows, bool)
        if column.categories:
            codes = rng.choice(len(column.categories), size=rows, p=column.weights)
            logit += np.where(missing, 0.0, column.effects[codes])
            values = pl.Series(column.name, np.asarray(column.categories)[codes], pl.String)
        else:
            # Skewed towards the low end, as counts and money are: a Beta(1.2, 4) draw.
            unit = rng.beta(1.2, 4.0, rows)
            raw = column.low + unit * (column.high - column.low)
            logit += np.where(missing, 0.0, column.slope * (unit - 0.23) / 0.18)
            dtype = pl.Int64 if column.integer else pl.Float64
            values = pl.Series(column.name, np.floor(raw) if column.integer else raw, dtype)
        data[column.name] = values.scatter(np.flatnonzero(missing), None)
    # Standardise the logit to a fixed spread, then shift it to the positive rate wanted.
    spread = math.sqrt(sum(c.effects.var() if c.categories else c.slope**2 for c in columns))
    # The shift is the rate's logit widened by the probit approximation of a logistic-normal mean.
    shift = math.log(_POSITIVE_RATE / (1 - _POSITIVE_RATE)) * math.sqrt(
        1 + math.pi * _LOGIT_SD**2 / 8
    )
    logit = logit / max(spread, 1e-9) * _LOGIT_SD + shift
    positive = rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))
    target = cfg.target.column
    negative = next(label for label in labels if label != cfg.target.positive)
    data[target] = pl.Series(target, np.where(positive, cfg.target.positive, negative), pl.String)
    return pl.DataFrame([data[name] for name in cfg.columns])


def write_synthetic(
    cfg: DatasetConfig,
    schema: DatasetSchema,
    rows: int,
    out: Path,
    partitions: int = 0,
    seed: int = 0,
) -> list[Path]:
    """ROWS synthetic rows of CFG's dataset as OUT/part-NNNNN.parquet; PARTITIONS files (default:
    one per million rows). Each file is written under a temporary name, then renamed."""
    if rows < 1:
        raise ConfigError("--rows must be at least 1")
    count = partitions or max(1, math.ceil(rows / 1_000_000))
    if count < 1 or count > rows:
        raise ConfigError(f"--partitions must be between 1 and the row count ({rows:,})")
    if schema.target_labels is None:
        raise ConfigError(f"{cfg.name}: the schema does not list the target's two labels")
    columns = _columns(cfg, schema, seed)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        size = rows // count + (index < rows % count)
        frame = _partition(cfg, schema.target_labels, columns, size, seed, index)
        path = out / f"part-{index:05d}.parquet"
        temporary = out / f".{path.name}.tmp"
        frame.write_parquet(temporary, compression="zstd", compression_level=1)
        temporary.replace(path)
        written.append(path)
    return written
