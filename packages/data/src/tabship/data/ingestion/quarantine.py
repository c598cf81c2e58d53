"""Write quarantined rows, each with every reason it failed, as JSON lines.

One record per quarantined row or malformed line:
`{"source", "role", "line", "raw", "reasons": [{"column", "check", "value"}, ...]}`.
`raw` is the line as read (CSV) or the row's values as JSON (parquet), so nothing is lost and a
fixed row can be fed back. JSON lines rather than parquet because a person opens this file to
see what went wrong, and it streams chunk by chunk without holding the whole quarantine.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import polars as pl

from tabship.data.errors import DataError
from tabship.data.ingestion.chunks import LINE, RAW
from tabship.data.ingestion.coerce import ROW

# A run whose quarantine passes this stops: a file this unlike its config is not a dataset, and
# a 3.9 KB gzip of 2M short lines once wrote a 318 MB quarantine and took 1.5 GB doing it.
MAX_QUARANTINE_BYTES = 256 * 1024 * 1024

_REASON = pl.Struct({"column": pl.String, "check": pl.String, "value": pl.String})


class QuarantineWriter:
    """Appends quarantine records to one JSON-lines file."""

    def __init__(self, path: Path, limit: int | None = None) -> None:
        self.path = path
        self.rows = 0
        self.limit = limit or MAX_QUARANTINE_BYTES
        self._handle = path.open("wb")

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            self._handle.close()

    def write(
        self,
        frame: pl.DataFrame,
        failures: pl.DataFrame,
        malformed: pl.DataFrame,
        *,
        source: str,
        role: str,
        columns: tuple[str, ...],
    ) -> int:
        """Write the rows of FRAME named in FAILURES, and the MALFORMED lines; return how many."""
        parts: list[pl.DataFrame] = []
        if failures.height:
            reasons = failures.group_by(ROW, maintain_order=True).agg(
                pl.struct("column", "check", "value").alias("reasons")
            )
            raw = (
                pl.col(RAW)
                if RAW in frame.columns
                else pl.struct(list(columns)).struct.json_encode()
            )
            rows = frame.with_row_index(ROW).join(reasons, on=ROW, how="inner")
            parts.append(
                rows.select(
                    pl.lit(source).alias("source"),
                    pl.lit(role).alias("role"),
                    pl.col(LINE).alias("line"),
                    raw.alias("raw"),
                    pl.col("reasons").cast(pl.List(_REASON)),
                )
            )
        if malformed.height:
            parts.append(
                malformed.select(
                    pl.lit(source).alias("source"),
                    pl.lit(role).alias("role"),
                    pl.col(LINE).alias("line"),
                    pl.col(RAW).alias("raw"),
                    pl.concat_list(
                        pl.struct(
                            pl.lit(None, dtype=pl.String).alias("column"),
                            pl.col("check"),
                            pl.col("value"),
                        )
                    ).alias("reasons"),
                )
            )
        if not parts:
            return 0
        records = pl.concat(parts).sort("line")
        records.write_ndjson(self._handle)
        self.rows += records.height
        if self._handle.tell() > self.limit:
            raise DataError(
                f"the quarantine passed {self.limit:,} bytes ({self.rows:,} rows, the last "
                f"at line {records['line'][-1]}): the file is not the table its config describes",
                path=source,
            )
        return records.height
