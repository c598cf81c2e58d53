"""Turn a source file (CSV, gzip CSV or parquet) into bounded chunks of rows, losing no line.

Text is split into lines and fields by this module rather than by a CSV parser, because a parser
that guesses (skips a bad line, pads a short one, decodes bytes loosely) would drop or change rows
without saying so. Every physical line is either a data row, or counted as blank / comment /
header, or returned as malformed with its line number and raw text for the quarantine.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import polars as pl

from tabship.data.config.dataset import ReaderOptions
from tabship.data.errors import DataError
from tabship.data.ingestion.chunks import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    LINE,
    MALFORMED_SCHEMA,
    Chunk,
    FileFormat,
    LineCounts,
)
from tabship.data.ingestion.csvlines import CsvReader
from tabship.data.ingestion.prefetch import prefetched


def detect_format(path: Path) -> FileFormat:
    """By magic bytes rather than by suffix, so a misnamed file is still read correctly."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == b"PAR1":
        return "parquet"
    if magic[:2] == b"\x1f\x8b":
        return "csv.gz"
    return "csv"


def check_readable(path: Path) -> None:
    """Fail early, with the file's name, when it is missing, a symbolic link, not a file, or
    empty. A source is read as itself: a link is refused, because whatever it points at (a
    secret, another user's file) would be read and its lines copied into the quarantine."""
    if path.is_symlink():
        raise DataError(
            "a symbolic link: a source must be the file itself (name its real path in the config)",
            path=path,
        )
    if not path.exists():
        raise DataError("file not found", path=path)
    if not path.is_file():
        raise DataError("not a regular file", path=path)
    if path.stat().st_size == 0:
        raise DataError("empty file (0 bytes)", path=path)


def read_chunks(
    path: Path,
    options: ReaderOptions,
    columns: tuple[str, ...],
    counts: LineCounts,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Generator[Chunk, None, None]:
    """Yield the chunks of PATH; COUNTS is filled with its non-data lines as they are met."""
    check_readable(path)
    file_format = detect_format(path)
    if file_format == "parquet":
        chunks = _parquet_chunks(path, columns, chunk_rows)
    else:
        chunks = CsvReader(path, options, columns, counts, file_format).chunks(chunk_bytes)
    # The next block is read and split while the caller checks this one.
    yield from prefetched(chunks)


def _parquet_chunks(path: Path, columns: tuple[str, ...], chunk_rows: int) -> Iterator[Chunk]:
    try:
        file_schema = pl.read_parquet_schema(path)
    except Exception as exc:  # polars raises ComputeError/OSError variants for corrupt files
        raise DataError(f"not a readable parquet file: {exc}", path=path) from None
    for name in columns:
        if name not in file_schema:
            raise DataError(f"required column {name!r} is missing", path=path, column=name)
    extra = [name for name in file_schema if name not in columns]
    if extra:
        raise DataError(
            f"unexpected column {extra[0]!r} (not in the config's columns)",
            path=path,
            column=extra[0],
        )
    total = path.stat().st_size
    offset = 0
    try:
        batches = pl.scan_parquet(path).select(columns).collect_batches(chunk_size=chunk_rows)
        for batch in batches:
            if batch.height == 0:
                continue
            frame = batch.with_columns(
                pl.int_range(offset + 1, offset + 1 + batch.height, dtype=pl.Int64).alias(LINE)
            )
            offset += batch.height
            yield Chunk(frame, pl.DataFrame(schema=MALFORMED_SCHEMA), total, total)
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"cannot read parquet data: {exc}", path=path) from None
    if offset == 0:
        raise DataError("empty file: no data rows", path=path)
