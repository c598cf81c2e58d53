"""Write the accepted rows to data.parquet on a thread of their own, with polars' parquet writer.

The last steps of a block (row ids, split, the stored dtypes, counting labels per split, parquet
encoding and compression) need nothing from the next block, so they run here while the ingest run
parses and checks the next one: on two cores that hides most of their cost. polars has no writer
that appends to an open file, but its streaming parquet sink reads from a Python source
(`register_io_source`); the source pulls blocks from a bounded queue, so at most `_QUEUED` blocks
wait in memory and the file is written once, in order. polars' writer measured twice as fast as
pyarrow's `ParquetWriter` on Adult rows (0.23 s against 0.46 s per 1M rows, with to_arrow).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from polars.io.plugins import register_io_source

from tabship.data.config.dataset import DatasetConfig
from tabship.data.config.schema import DatasetSchema, stored_dtype
from tabship.data.versions.splits import FEEDBACK, assign_splits, row_hashes

# zstd level 1: measured against 3 and the default on 1M Adult rows, within noise in time and
# within 1% in size; the lowest level keeps the writer cheapest when the data compresses worse.
COMPRESSION_LEVEL = 1
_QUEUED = 1  # blocks waiting for the writer: one is enough to keep it busy, more is memory
_POLL_S = 0.2  # how often a blocked put looks whether the writer died


@dataclass(frozen=True)
class Accepted:
    """One block's accepted rows, typed as the schema says, with where each came from."""

    rows: pl.DataFrame  # the data columns in the schema's dtypes
    lines: pl.Series  # the source line of each row
    source: str
    role: str


class DataWriter:
    """Streams accepted blocks into one parquet file; counts rows per (split, label) as it goes."""

    def __init__(self, path: Path, cfg: DatasetConfig, schema: DatasetSchema) -> None:
        self.path = path
        self.cfg = cfg
        self.dtypes = {name: stored_dtype(schema.dtypes[name]) for name in cfg.columns}
        self.split_labels: Counter[tuple[str, str]] = Counter()
        # With a file split, the base rows' ids per split: a feedback row that is one of them
        # keeps that row's split (see _split). Feedback comes last, after every base row.
        self._base_ids: dict[str, list[pl.Series]] = {"train": [], "holdout": []}
        self._base_sets: dict[str, pl.Series] | None = None
        self._feedback_follows = cfg.split.method == "file" and bool(cfg.feedback_sources())
        self._queue: queue.Queue[Accepted | None] = queue.Queue(maxsize=_QUEUED)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tabship-data-writer", daemon=True)
        self._thread.start()

    @property
    def out_schema(self) -> pl.Schema:
        return pl.Schema(
            {
                **self.dtypes,
                "split": pl.String(),
                "row_id": pl.UInt64(),
                "source_file": pl.String(),
                "source_line": pl.Int64(),
            }
        )

    def write(self, block: Accepted) -> None:
        """Queue BLOCK; waits while the writer is a block behind, raises if the writer failed."""
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(block, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Finish the file (an empty, typed one when no block came) and wait for the writer."""
        if self._closed:
            return
        self._closed = True
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._raise_if_failed()

    def abort(self) -> None:
        """Stop the writer after a failure elsewhere; the half-written file is discarded."""
        self._closed = True
        with contextlib.suppress(queue.Empty):
            while True:  # drop what waits, so the sentinel fits
                self._queue.get_nowait()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=30)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._thread.is_alive() and not self._closed:
            raise RuntimeError("the data writer stopped early")

    def _run(self) -> None:
        try:
            register_io_source(self._source, schema=self.out_schema).sink_parquet(
                self.path, compression="zstd", compression_level=COMPRESSION_LEVEL
            )
        except BaseException as exc:  # handed to the ingest run's thread, which raises it
            self._error = exc

    def _source(
        self,
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        while (block := self._queue.get()) is not None:
            yield self._assemble(block)

    def _split(self, ids: pl.Series, role: str) -> pl.Series:
        """Each row's split. By the row's own hash with the hash method, and for feedback rows
        with either method: appending rows never moves one, and a row keeps its split in every
        later version. Under the file method a feedback row that is a base row (the same
        identity: its key, or all its values) keeps that row's split, holdout first; otherwise
        a copy of a holdout row could be trained on."""
        cfg = self.cfg
        if cfg.split.method == "hash":
            return assign_splits(ids, cfg.split.holdout_fraction)
        if role != FEEDBACK:
            if self._feedback_follows:
                self._base_ids[role].append(ids)
            return pl.repeat(role, len(ids), eager=True, dtype=pl.String)
        if self._base_sets is None:
            self._base_sets = {
                name: pl.concat(found).unique() if found else pl.Series([], dtype=pl.UInt64)
                for name, found in self._base_ids.items()
            }
            self._base_ids = {"train": [], "holdout": []}
        by_hash = assign_splits(ids, cfg.split.holdout_fraction)
        return pl.select(
            pl.when(ids.is_in(self._base_sets["holdout"].implode()))
            .then(pl.lit("holdout"))
            .when(ids.is_in(self._base_sets["train"].implode()))
            .then(pl.lit("train"))
            .otherwise(by_hash)
            .alias("split")
        ).to_series()

    def _assemble(self, block: Accepted) -> pl.DataFrame:
        cfg, rows = self.cfg, block.rows
        ids = row_hashes(rows, cfg.key or cfg.columns)
        split = self._split(ids, block.role)
        out = rows.select(
            *(pl.col(name).cast(dtype) for name, dtype in self.dtypes.items()),
            split.alias("split"),
            ids.alias("row_id"),
            pl.lit(block.source, dtype=pl.String).alias("source_file"),
            block.lines.alias("source_line"),
        )
        target = cfg.target.column
        counts = out.group_by("split", pl.col(target).cast(pl.String)).agg(pl.len())
        for split_name, label, n in counts.iter_rows():
            self.split_labels[(str(split_name), str(label))] += int(n)
        return out
