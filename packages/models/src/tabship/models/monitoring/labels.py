"""Ground truth as it arrives in production: files of `prediction_id,label`, some time later.

Every `*.csv` file in the labels folder is read. A label is the dataset's positive label (1), its
other label (0), or `1`/`0` as such; anything else, and a line without an id, is counted as bad
and named in the report rather than guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl


@dataclass
class Labels:
    """The labels read, as 0/1 per prediction id, and what could not be used."""

    frame: pl.DataFrame  # prediction_id (str), label (i8)
    files: list[str] = field(default_factory=list)
    bad: list[dict[str, object]] = field(default_factory=list)  # file, line, reason


def read_labels(folder: Path, positive: str, negative: str | None = None) -> Labels:
    """The label files in FOLDER (none yet is fine: an empty frame)."""
    empty = pl.DataFrame(schema={"prediction_id": pl.String, "label": pl.Int8})
    if not folder.is_dir():
        return Labels(empty)
    frames, result = [], Labels(empty)
    for path in sorted(folder.glob("*.csv")):
        raw = pl.read_csv(path, schema_overrides={"prediction_id": pl.String, "label": pl.String})
        if not {"prediction_id", "label"} <= set(raw.columns):
            result.bad.append(
                {"file": path.name, "line": 1, "reason": "no prediction_id,label header"}
            )
            continue
        text = pl.col("label").str.strip_chars()
        mapped = raw.with_row_index("line", offset=2).with_columns(
            pl.when(text.is_in([positive, "1"]))
            .then(1)
            .when(text.is_in([negative, "0"] if negative else ["0"]))
            .then(0)
            .otherwise(None)
            .cast(pl.Int8)
            .alias("label_01")
        )
        if negative is None:  # any label other than the positive one counts as negative
            mapped = mapped.with_columns(
                pl.when(pl.col("label_01").is_null() & pl.col("label").is_not_null())
                .then(0)
                .otherwise(pl.col("label_01"))
                .cast(pl.Int8)
                .alias("label_01")
            )
        unusable = mapped.filter(pl.col("label_01").is_null() | pl.col("prediction_id").is_null())
        result.bad += [
            {"file": path.name, "line": int(line), "reason": "no id or an unknown label"}
            for line in unusable["line"].to_list()
        ]
        frames.append(
            mapped.filter(
                pl.col("label_01").is_not_null() & pl.col("prediction_id").is_not_null()
            ).select("prediction_id", pl.col("label_01").alias("label"))
        )
        result.files.append(path.name)
    if frames:
        result.frame = pl.concat(frames)
    return result
