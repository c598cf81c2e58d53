"""One ingest run's work on each chunk: coerce, validate, check keys, quarantine or accept.

It holds the run's open writers, its key memory and its counts; `ingest` drives it source by source
and `outcome.conclude` turns it into a published (or rejected) version.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from tabship.data.config.dataset import DatasetConfig
from tabship.data.config.schema import DatasetSchema, validate
from tabship.data.files import display_path
from tabship.data.ingestion.chunks import LINE
from tabship.data.ingestion.coerce import ROW, coerce
from tabship.data.ingestion.keys import KeyTracker
from tabship.data.ingestion.quarantine import QuarantineWriter
from tabship.data.ingestion.reader import detect_format, read_chunks
from tabship.data.ingestion.report import RunStats, SourceStats
from tabship.data.ingestion.writer import Accepted, DataWriter
from tabship.data.versions import store as st

Progress = Callable[[str, int, int, int], None]  # source, bytes done, bytes total, rows so far


class IngestRun:
    """The state of one ingest run: open writers, key memory, counts."""

    def __init__(
        self, cfg: DatasetConfig, schema: DatasetSchema, temp: Path, progress: Progress | None
    ) -> None:
        self.cfg = cfg
        self.schema = schema
        self.temp = temp
        self.progress = progress
        self.stats = RunStats()
        self.keys = KeyTracker(cfg.key)
        self.order = list(schema.dtypes)  # pandera checks column order when the schema says so
        self.quarantine = QuarantineWriter(temp / st.QUARANTINE_FILE)
        self.data_path = temp / st.DATA_FILE
        self.writer = DataWriter(self.data_path, cfg, schema)

    def read_source(self, path: Path, role: str, chunk_bytes: int, chunk_rows: int) -> None:
        """Read, check and write one source; its sha256 is filled in by the caller."""
        shown = display_path(path)
        source = SourceStats(
            path=shown,
            role=role,
            sha256="",
            bytes=path.stat().st_size,
            format=detect_format(path),
        )
        self.stats.sources.append(source)
        chunks = read_chunks(
            path,
            self.cfg.reader,
            self.cfg.columns,
            source.lines,
            chunk_bytes=chunk_bytes,
            chunk_rows=chunk_rows,
        )
        # Closed at once on a failure: the reader thread stops and lets go of its block.
        with contextlib.closing(chunks):
            for chunk in chunks:
                self._process(shown, role, source, chunk.frame, chunk.malformed)
                if self.progress:
                    self.progress(shown, chunk.bytes_done, chunk.bytes_total, source.rows_in)

    def _process(
        self,
        shown: str,
        role: str,
        source: SourceStats,
        frame: pl.DataFrame,
        malformed: pl.DataFrame,
    ) -> None:
        cfg = self.cfg
        typed, failures = coerce(
            frame,
            self.schema,
            cfg.reader,
            target=cfg.target.column,
            source=shown,
            counts=self.stats.coercions,
        )
        checked = validate(typed.select(self.order), self.schema, shown)
        if checked.height:
            # A value that failed to cast is null now; its not_nullable failure would repeat it.
            checked = checked.join(failures.select(ROW, "column"), on=[ROW, "column"], how="anti")
            failures = pl.concat([failures, checked])
        if cfg.key:
            eligible = ~typed[ROW].is_in(failures[ROW].implode())
            where = frame.select(pl.format("{}:{}", pl.lit(shown), pl.col(LINE))).to_series()
            failures = pl.concat([failures, self.keys.check(typed, eligible, where)])

        quarantined = 0
        if failures.height or malformed.height:
            quarantined = self.quarantine.write(
                frame, failures, malformed, source=shown, role=role, columns=cfg.columns
            )
        if failures.height:
            # The slow path: only a block with a bad row pays for filtering out its rows.
            bad = typed[ROW].is_in(failures[ROW].implode())
            accepted, lines = typed.filter(~bad), frame[LINE].filter(~bad)
            located = _with_lines(failures, frame)
            self.stats.add_failures(shown, located)
            source.add_failures(located)
        else:
            accepted, lines = typed, frame[LINE]
        self.writer.write(Accepted(accepted.drop(ROW), lines, shown, role))

        source.rows_in += frame.height + malformed.height
        source.rows_accepted += accepted.height
        source.rows_quarantined += quarantined
        source.malformed_lines += malformed.height
        self.stats.add_malformed(shown, malformed)
        if malformed.height:
            source.add_malformed(malformed)
        if source.rows_in != source.rows_accepted + source.rows_quarantined:
            raise AssertionError(f"{shown}: row accounting broke: {source}")  # never silent

    def finish(self) -> None:
        """Close the writers; an all-quarantined run still gets an empty, typed data file."""
        self.quarantine.close()
        self.writer.close()
        self.stats.split_labels.update(self.writer.split_labels)
        # A row in both splits puts holdout data into training: count it, so the report says so.
        # The holdout's distinct ids are the smaller side, so they are the join's hash table.
        ids = pl.scan_parquet(self.data_path).select("row_id", "split")
        holdout = ids.filter(pl.col("split") == "holdout").select("row_id").unique()
        both = ids.filter(pl.col("split") != "holdout").join(holdout, on="row_id", how="semi")
        self.stats.rows_in_both_splits = int(
            both.select(pl.col("row_id").n_unique()).collect().item()
        )

    def data_files(self) -> dict[str, Path]:
        """The accepted rows' files by their names in the version folder."""
        return {st.DATA_FILE: self.data_path}

    def manifest_extra(self) -> dict[str, object]:
        """What the manifest records beyond the common fields: nothing for one data file."""
        return {}

    def abort(self) -> None:
        """Stop the writers after a failure; the temporary folder is discarded by the caller."""
        self.quarantine.close()
        self.writer.abort()


def _with_lines(failures: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """FAILURES with the source line of each row instead of its chunk position."""
    lines = frame.select(pl.col(LINE).alias("line")).with_row_index(ROW)
    return failures.join(lines, on=ROW, how="left").select("line", "column", "check", "value")
