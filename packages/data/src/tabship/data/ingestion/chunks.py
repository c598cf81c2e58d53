"""What the reader yields: chunks of rows with their line numbers, and the counts of the lines
that are not rows (shared by the CSV and parquet readers, the quarantine and the report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

# Large enough that pandera's fixed cost per validate call (about 20 ms) is small against the
# work (about 1.2M Adult rows per block), small enough that memory stays bounded.
DEFAULT_CHUNK_BYTES = 128 * 1024 * 1024
DEFAULT_CHUNK_ROWS = 1_000_000
# A row of a table is short: a "line" longer than this is a file with no line ends (a gzip bomb
# of one endless line grew to 4.4 GB before a MemoryError), so the run stops and says so.
MAX_LINE_BYTES = 1024 * 1024

# Columns every chunk carries besides the data columns.
LINE = "_line"  # 1-based physical line (CSV) or row number (parquet) in the source file
RAW = "_raw"  # the line's original text (CSV only)

MALFORMED_SCHEMA: dict[str, pl.DataType] = {
    LINE: pl.Int64(),
    RAW: pl.String(),
    "check": pl.String(),
    "value": pl.String(),
}

FileFormat = Literal["csv", "csv.gz", "parquet"]


@dataclass
class Chunk:
    """Rows read from one stretch of a source file."""

    frame: pl.DataFrame  # data columns (strings for CSV, file dtypes for parquet), _line, [_raw]
    malformed: pl.DataFrame  # lines that are not rows: _line, _raw, check, value
    bytes_done: int
    bytes_total: int


@dataclass
class LineCounts:
    """Physical lines that are not data rows, kept so a report can account for every line."""

    blank: int = 0
    comment: int = 0
    header: int = 0
    comment_examples: list[str] = field(default_factory=list)
