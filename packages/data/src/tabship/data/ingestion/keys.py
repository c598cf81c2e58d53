"""Duplicate-key detection across every chunk and file of a run.

pandera's `unique` sees one chunk at a time, so the check lives here: the key values seen so far
are kept (only the key columns, so memory grows with the key, not the row), and a later row with a
key already seen is quarantined, naming where the key was first seen. The first occurrence in read
order wins, which makes the outcome deterministic.
"""

from __future__ import annotations

import polars as pl

from tabship.data.config.schema import FAILURE_SCHEMA, empty_failures
from tabship.data.ingestion.coerce import ROW

_WHERE = "_first_seen"


class KeyTracker:
    """Remembers the keys accepted so far in one ingest run."""

    def __init__(self, key: tuple[str, ...]) -> None:
        self.key = key
        self.seen: pl.DataFrame | None = None

    def check(self, typed: pl.DataFrame, eligible: pl.Series, where: pl.Series) -> pl.DataFrame:
        """Failures for rows of TYPED (where ELIGIBLE) whose key was already seen.

        WHERE gives each row's `FILE:LINE`, quoted in the failure so a person can find the
        original. Rows not eligible (already failing another check) neither claim nor collide.
        """
        if not self.key:
            return empty_failures()
        rows = typed.select(*self.key, ROW).with_columns(where.alias(_WHERE)).filter(eligible)
        rows = rows.with_columns(
            pl.col(_WHERE).first().over(self.key, order_by=ROW).alias("_chunk_first"),
            pl.struct(self.key).is_first_distinct().alias("_is_first"),
        )
        if self.seen is not None:
            rows = rows.join(self.seen.rename({_WHERE: "_earlier"}), on=self.key, how="left")
        else:
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("_earlier"))
        rows = rows.with_columns(
            pl.coalesce("_earlier", "_chunk_first").alias("_original"),
            (~pl.col("_is_first") | pl.col("_earlier").is_not_null()).alias("_dup"),
        )
        fresh = rows.filter(~pl.col("_dup")).select(*self.key, pl.col(_WHERE))
        self.seen = fresh if self.seen is None else pl.concat([self.seen, fresh])
        dups = rows.filter(pl.col("_dup"))
        key_text = pl.concat_str(
            [pl.format(f"{name}={{}}", pl.col(name).cast(pl.String)) for name in self.key],
            separator=", ",
            ignore_nulls=False,
        )
        return dups.select(
            pl.col(ROW).cast(pl.UInt32),
            pl.lit(",".join(self.key)).alias("column"),
            pl.lit("duplicate_key").alias("check"),
            pl.format("{} (first seen at {})", key_text, pl.col("_original")).alias("value"),
        ).cast(FAILURE_SCHEMA)  # type: ignore[arg-type]
