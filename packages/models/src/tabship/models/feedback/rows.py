"""Labelled production rows become feedback files: the data a retrain appends to a dataset.

The compacted prediction log holds what the service was asked (every request field); the label
files say, later, what the truth was. Joined by prediction id they are training rows in the
dataset's own shape, which `tabship.data` ingests like any other source: the same schema, the same
quarantine, and a split by each row's hash, so a row keeps its split in every later version.

Each retrain writes one new parquet file to the dataset's feedback folder, named so that name
order is time order, and holding only rows no earlier file holds. Which prediction ids a file
holds is kept in a hidden ledger beside it, written first: a ledger whose data file never
appeared (a run killed in between) counts for nothing, so no row is lost or appended twice.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tabship.data import FieldSpec, file_sha256

LEDGER = ".ledger"  # hidden: the dataset's feedback_sources() skips names starting with a dot
TRUTH = "_truth"


class FeedbackError(ValueError):
    """The log or labels cannot become training rows; the message names the column."""


@dataclass(frozen=True)
class FeedbackBatch:
    """What one retrain found in the log and labels, and what it appended."""

    logged: int  # compacted predictions
    labelled: int  # of those, with one usable label
    conflicting: int  # prediction ids labelled both ways: left out
    appended: int  # labelled rows no earlier feedback file holds
    path: str | None  # the file written (None: nothing new)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def labelled_rows(
    log: pl.DataFrame,
    labels: pl.DataFrame,
    fields: Sequence[FieldSpec],
    columns: Sequence[str],
    target: str,
    names: tuple[str, str],
) -> tuple[pl.DataFrame, int]:
    """LOG's rows that LABELS (prediction_id, 0/1 label) label, as the dataset's COLUMNS with the
    TARGET as its label text (NAMES: negative, positive), plus `prediction_id`. Returns the rows
    and how many prediction ids had conflicting labels (left out: a guess would be noise)."""
    missing = [c for c in columns if c != target and c not in log.columns]
    if missing:
        raise FeedbackError(
            f"the prediction log has no column {missing[0]!r}: rows without it cannot be "
            "training data (was the model served with an older request schema?)"
        )
    votes = labels.group_by("prediction_id").agg(
        pl.col("label").min().alias("low"), pl.col("label").max().alias("high")
    )
    conflicting = votes.filter(pl.col("low") != pl.col("high")).height
    truth = votes.filter(pl.col("low") == pl.col("high")).select(
        "prediction_id", pl.col("low").alias(TRUTH)
    )
    joined = log.unique("prediction_id", keep="first", maintain_order=True).join(
        truth, on="prediction_id", how="inner", maintain_order="left"
    )
    integers = {f.name for f in fields if f.kind == "integer"}
    negative, positive = names
    rows = joined.select(
        "prediction_id",
        *(
            pl.when(pl.col(TRUTH) == 1)
            .then(pl.lit(positive))
            .otherwise(pl.lit(negative))
            .alias(target)
            if c == target
            # The log keeps numbers as floats; the service accepted only whole numbers here.
            else pl.col(c).cast(pl.Int64)
            if c in integers
            else pl.col(c)
            for c in columns
        ),
    )
    return rows, conflicting


def _ledgers(folder: Path) -> list[Path]:
    """Ledgers whose data file exists: only those rows were appended."""
    ledger = folder / LEDGER
    if not ledger.is_dir():
        return []
    return [p for p in sorted(ledger.glob("*.parquet")) if (folder / p.name).is_file()]


def consumed_ids(folder: Path) -> pl.Series:
    """Prediction ids already appended to the dataset through FOLDER."""
    files = _ledgers(folder)
    if not files:
        return pl.Series("prediction_id", [], dtype=pl.String)
    return pl.read_parquet(files, columns=["prediction_id"])["prediction_id"]


def _atomic_parquet(frame: pl.DataFrame, path: Path) -> None:
    scratch = path.with_name(f".{path.name}.tmp")
    frame.write_parquet(scratch)
    scratch.replace(path)


def append_feedback(folder: Path, rows: pl.DataFrame) -> tuple[int, Path | None]:
    """Write ROWS (with `prediction_id`) that no earlier file holds as a new feedback file in
    FOLDER. Returns how many were written and the file (None when there was nothing new)."""
    fresh = rows.filter(~pl.col("prediction_id").is_in(consumed_ids(folder).implode()))
    if fresh.height == 0:
        return 0, None
    ids = fresh.select("prediction_id").sort("prediction_id")
    digest = hashlib.sha256("\n".join(ids["prediction_id"].to_list()).encode()).hexdigest()
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{digest[:12]}.parquet"
    (folder / LEDGER).mkdir(parents=True, exist_ok=True)
    _atomic_parquet(ids, folder / LEDGER / name)  # the ledger first: see the module docstring
    _atomic_parquet(fresh.drop("prediction_id"), folder / name)
    return fresh.height, folder / name


def add_user_file(folder: Path, source: Path) -> Path:
    """Copy a user's file of labelled rows (the dataset's shape: parquet, CSV or gzip CSV) into
    FOLDER under a content-addressed name; the same file added twice is one file."""
    suffix = next((s for s in (".csv.gz", ".parquet", ".csv") if source.name.endswith(s)), None)
    if suffix is None:
        raise FeedbackError(f"{source}: a feedback file is .parquet, .csv or .csv.gz")
    if not source.is_file():
        raise FeedbackError(f"{source}: no such file")
    folder.mkdir(parents=True, exist_ok=True)
    digest = file_sha256(source)
    for existing in folder.glob(f"*-{digest[:12]}-user{suffix}"):
        return existing
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = folder / f"{stamp}-{digest[:12]}-user{suffix}"
    scratch = folder / f".{target.name}.tmp"
    shutil.copyfile(source, scratch)
    scratch.replace(target)
    return target
