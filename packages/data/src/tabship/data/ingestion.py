"""Ingest: raw source files to a validated, versioned dataset. This module only wires the steps.

read (reader) -> coerce to the schema's dtypes (coerce) -> validate with pandera (schema) -> duplicate
keys (keys) -> quarantine or accept (quarantine) -> row identity and split (splits) -> version
folder, manifest and `latest` (store) -> report (report).

Every row read is either accepted or quarantined; `IngestResult` and the report carry both counts,
and a run that would break that invariant raises rather than publish.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from tabship.data import store as st
from tabship.data.coerce import ROW, coerce
from tabship.data.config import DatasetConfig, load_config
from tabship.data.errors import ConfigError, DataError, RunRejectedError
from tabship.data.files import file_sha256
from tabship.data.keys import KeyTracker
from tabship.data.project import default_store
from tabship.data.quarantine import QuarantineWriter
from tabship.data.reader import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    LINE,
    check_readable,
    detect_format,
    read_chunks,
)
from tabship.data.report import RunStats, SourceStats, build_report, summary
from tabship.data.schema import DatasetSchema, load_schema, stored_dtype, validate
from tabship.data.splits import assign_splits, row_hashes

META_COLUMNS = ["split", "row_id", "source_file", "source_line"]
Status = Literal["created", "unchanged", "rejected"]
Progress = Callable[[str, int, int, int], None]  # source, bytes done, bytes total, rows so far

_MALFORMED_WORDS = {
    "field_count": "ragged line",
    "utf8": "invalid UTF-8",
    "csv_parse": "unparseable line",
}


@dataclass(frozen=True)
class IngestResult:
    """What an ingest run produced, and where."""

    dataset: str
    version: str
    status: Status
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    processed_path: Path | None  # data.parquet; None when the run was rejected
    quarantine_path: Path
    report_path: Path
    manifest_path: Path | None
    report: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The CLI's `--json` object."""
        return {
            "status": self.status,
            "dataset": self.dataset,
            "dataset_version": self.version,
            "rows_in": self.rows_in,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "processed_path": str(self.processed_path) if self.processed_path else None,
            "quarantine_path": str(self.quarantine_path),
            "report_path": str(self.report_path),
            "manifest_path": str(self.manifest_path) if self.manifest_path else None,
            "missing_values": self.report.get("missing_values"),
        }

    def summary(self) -> str:
        """The short human summary."""
        return summary(self.report)


def display_path(path: Path) -> str:
    """PATH relative to the cwd when it is below it: short in messages, stable in reports."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def ingest(
    dataset: str | DatasetConfig | None = None,
    sources: Sequence[Path | str] | None = None,
    *,
    holdout: Sequence[Path | str] | None = None,
    config: Path | str | None = None,
    store: Path | str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest DATASET (a name from the config, or a loaded config; default: the config's default).

    SOURCES replace the config's train files and HOLDOUT its holdout files. Raises DataError on a
    structural fault (nothing written), RunRejectedError when the run read everything but may not
    be published (its quarantine and report are kept under `rejected/`), ConfigError on a bad
    config.
    """
    cfg = dataset if isinstance(dataset, DatasetConfig) else load_config(config, dataset)
    schema = load_schema(cfg)
    train = tuple(Path(p) for p in sources) if sources else cfg.train_sources
    held = tuple(Path(p) for p in holdout) if holdout is not None else cfg.holdout_sources
    if cfg.split.method == "file" and not held:
        raise ConfigError(f"{cfg.name}: split method is file but no holdout file was given")
    if cfg.split.method == "hash" and held:
        raise ConfigError(f"{cfg.name}: holdout files given but the split method is hash")
    plan = [(p, "train") for p in train] + [(p, "holdout") for p in held]
    if not plan:
        raise ConfigError(f"{cfg.name}: no source files: give SOURCE or set sources.train")
    for path, _ in plan:
        check_readable(path)
    stamps = [_stamp(path) for path, _ in plan]
    hashes = [file_sha256(path) for path, _ in plan]
    full_hash = st.content_hash(
        cfg.name,
        cfg.config_hash(),
        schema.schema_hash,
        [(role, digest) for (_, role), digest in zip(plan, hashes, strict=True)],
    )
    version = st.short_version(full_hash)
    root = Path(store) if store is not None else default_store()
    final = st.version_dir(root, cfg.name, version)
    if (final / st.MANIFEST_FILE).is_file():
        st.set_latest(root, cfg.name, version)
        return _existing(cfg.name, version, final)

    temp = st.new_temp_dir(root, cfg.name)
    try:
        run = _Run(cfg, schema, temp, progress)
        started = time.perf_counter()
        for (path, role), digest in zip(plan, hashes, strict=True):
            run.read_source(path, role, digest, chunk_bytes, chunk_rows)
        run.finish()
        for (path, _), stamp in zip(plan, stamps, strict=True):
            if _stamp(path) != stamp:
                raise DataError("file changed while it was being ingested", path=display_path(path))
        return _conclude(run, root, version, full_hash, time.perf_counter() - started)
    finally:
        st.discard(temp)  # a no-op once the folder has been renamed into place


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _existing(dataset: str, version: str, folder: Path) -> IngestResult:
    """The result of re-ingesting input that is already a version: read, never written."""
    report = json.loads((folder / st.REPORT_FILE).read_text(encoding="utf-8"))
    report = {**report, "status": "unchanged"}
    return IngestResult(
        dataset=dataset,
        version=version,
        status="unchanged",
        rows_in=report["rows_in"],
        rows_accepted=report["rows_accepted"],
        rows_quarantined=report["rows_quarantined"],
        processed_path=folder / st.DATA_FILE,
        quarantine_path=folder / st.QUARANTINE_FILE,
        report_path=folder / st.REPORT_FILE,
        manifest_path=folder / st.MANIFEST_FILE,
        report=report,
    )


class _Run:
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
        self._writer: Any = None

    def read_source(
        self, path: Path, role: str, digest: str, chunk_bytes: int, chunk_rows: int
    ) -> None:
        shown = display_path(path)
        source = SourceStats(
            path=shown,
            role=role,
            sha256=digest,
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
        # A value that failed to cast is null now; its not_nullable failure would only repeat it.
        checked = checked.join(failures.select(ROW, "column"), on=[ROW, "column"], how="anti")
        failures = pl.concat([failures, checked])
        eligible = ~typed[ROW].is_in(failures[ROW].implode())
        where = frame.select(pl.format("{}:{}", pl.lit(shown), pl.col(LINE))).to_series()
        failures = pl.concat([failures, self.keys.check(typed, eligible, where)])

        bad = typed[ROW].is_in(failures[ROW].implode())
        quarantined = self.quarantine.write(
            frame, failures, malformed, source=shown, role=role, columns=cfg.columns
        )
        accepted = typed.filter(~bad)
        lines = frame[LINE].filter(~bad)
        self._write_accepted(accepted, lines, shown, role)

        source.rows_in += frame.height + malformed.height
        source.rows_accepted += accepted.height
        source.rows_quarantined += quarantined
        source.malformed_lines += malformed.height
        self.stats.add_failures(shown, _with_lines(failures, frame))
        self.stats.add_malformed(shown, malformed)
        if source.rows_in != source.rows_accepted + source.rows_quarantined:
            raise AssertionError(f"{shown}: row accounting broke: {source}")  # never silent

    def _write_accepted(
        self, accepted: pl.DataFrame, lines: pl.Series, shown: str, role: str
    ) -> None:
        cfg = self.cfg
        ids = row_hashes(accepted, cfg.key or cfg.columns)
        if cfg.split.method == "hash":
            split = assign_splits(ids, cfg.split.holdout_fraction)
        else:
            split = pl.repeat(role, accepted.height, eager=True, dtype=pl.String).alias("split")
        out = accepted.select(
            pl.col(name).cast(stored_dtype(self.schema.dtypes[name])) for name in cfg.columns
        ).with_columns(
            split.alias("split"),
            ids.alias("row_id"),
            pl.lit(shown, dtype=pl.String).alias("source_file"),
            lines.alias("source_line"),
        )
        counts = out.group_by("split", pl.col(cfg.target.column).cast(pl.String)).agg(pl.len())
        for split_name, label, rows in counts.iter_rows():
            self.stats.split_labels[(str(split_name), str(label))] += int(rows)
        table = out.to_arrow(compat_level=pl.CompatLevel.oldest())
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.data_path, table.schema, compression="zstd")
        self._writer.write_table(table)

    def finish(self) -> None:
        """Close the writers; an all-quarantined run still gets an empty, typed data file."""
        self.quarantine.close()
        if self._writer is None:
            empty = pl.DataFrame(schema=self.schema.dtypes).select(list(self.cfg.columns))
            self._write_accepted(empty, pl.Series(LINE, [], dtype=pl.Int64), "", "train")
        self._writer.close()
        # A row in both splits puts holdout data into training: count it, so the report says so.
        ids = pl.scan_parquet(self.data_path).select("row_id", "split")
        both = ids.group_by("row_id").agg(pl.col("split").n_unique().alias("splits"))
        self.stats.rows_in_both_splits = int(
            both.filter(pl.col("splits") > 1).select(pl.len()).collect().item()
        )


def _with_lines(failures: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """FAILURES with the source line of each row instead of its chunk position."""
    lines = frame.select(pl.col(LINE).alias("line")).with_row_index(ROW)
    return failures.join(lines, on=ROW, how="left").select("line", "column", "check", "value")


def _conclude(run: _Run, root: Path, version: str, full_hash: str, seconds: float) -> IngestResult:
    cfg, stats = run.cfg, run.stats
    rejected_quarantine = st.rejected_dir(root, cfg.name, version) / st.QUARANTINE_FILE
    rejection = _rejection(run, display_path(rejected_quarantine))
    status: Status = "rejected" if rejection else "created"
    final = (
        st.rejected_dir(root, cfg.name, version)
        if rejection
        else st.version_dir(root, cfg.name, version)
    )
    paths = {
        "processed_path": "" if rejection else display_path(final / st.DATA_FILE),
        "quarantine_path": display_path(final / st.QUARANTINE_FILE),
        "report_path": display_path(final / st.REPORT_FILE),
    }
    created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report = build_report(
        stats,
        dataset=cfg.name,
        version=version,
        status=status,
        na_values=cfg.reader.na_values,
        nullable=run.schema.nullable,
        target=cfg.target.column,
        positive=cfg.target.positive,
        label_suffix=cfg.reader.strip_label_suffix,
        max_fraction=cfg.max_quarantined_fraction,
        paths=paths,
        seconds=seconds,
        created_at=created_at,
    )
    if rejection:
        report["rejection"] = rejection.message
        st.write_json(run.temp / st.REPORT_FILE, report)
        run.data_path.unlink(missing_ok=True)  # rejected rows are not a dataset
        st.replace_rejected(run.temp, final)
        result = _result(
            cfg.name, version, status, stats=stats, folder=final, report=report, published=False
        )
        raise RunRejectedError(rejection.message, result, path=rejection.path, line=rejection.line)
    manifest = _manifest(run, version, full_hash, created_at)
    st.write_json(run.temp / st.REPORT_FILE, report)
    st.write_json(run.temp / st.MANIFEST_FILE, manifest.to_dict())
    if not st.publish(run.temp, final):
        st.set_latest(root, cfg.name, version)
        return _existing(cfg.name, version, final)
    st.set_latest(root, cfg.name, version)
    return _result(
        cfg.name, version, status, stats=stats, folder=final, report=report, published=True
    )


def _rejection(run: _Run, quarantine_path: str) -> DataError | None:
    """Why the run may not be published, as a located one-line error; None if it may."""
    stats, cfg = run.stats, run.cfg
    quarantine = f"quarantine: {quarantine_path}"
    if stats.malformed_lines and cfg.reader.malformed_lines == "fail":
        first = stats.malformed_examples[0]
        word = _MALFORMED_WORDS.get(first["check"], first["check"])
        lines = [str(e["line"]) for e in stats.malformed_examples if e["source"] == first["source"]]
        more = f" (lines {', '.join(lines[:10])}{', ...' if len(lines) > 10 else ''})"
        return DataError(
            f"{word}: {first['value']}; {stats.malformed_lines:,} malformed line(s) in all"
            f"{more if len(lines) > 1 else ''}, run not published; {quarantine}",
            path=first["source"],
            line=first["line"],
        )
    fraction = stats.rows_quarantined / stats.rows_in if stats.rows_in else 0.0
    if fraction > cfg.max_quarantined_fraction:
        top = ""
        if stats.failures:
            (column, check), rows = stats.failures.most_common(1)[0]
            top = f"; most common: column {column!r} {check} ({rows:,} rows)"
        first_source = stats.sources[0].path if stats.sources else None
        return DataError(
            f"{stats.rows_quarantined:,} of {stats.rows_in:,} rows quarantined "
            f"({fraction:.2%}), above the limit of {cfg.max_quarantined_fraction:.2%}{top}; "
            f"run not published; {quarantine}",
            path=first_source,
        )
    return None


def _result(
    dataset: str,
    version: str,
    status: Status,
    *,
    stats: RunStats,
    folder: Path,
    report: dict[str, Any],
    published: bool,
) -> IngestResult:
    return IngestResult(
        dataset=dataset,
        version=version,
        status=status,
        rows_in=stats.rows_in,
        rows_accepted=stats.rows_accepted,
        rows_quarantined=stats.rows_quarantined,
        processed_path=folder / st.DATA_FILE if published else None,
        quarantine_path=folder / st.QUARANTINE_FILE,
        report_path=folder / st.REPORT_FILE,
        manifest_path=folder / st.MANIFEST_FILE if published else None,
        report=report,
    )


def _manifest(run: _Run, version: str, full_hash: str, created_at: str) -> st.Manifest:
    cfg, stats = run.cfg, run.stats
    split_rows: Counter[str] = Counter()
    for (name, _), rows in stats.split_labels.items():
        split_rows[name] += rows
    return st.Manifest(
        dataset=cfg.name,
        version=version,
        content_hash=full_hash,
        schema_hash=run.schema.schema_hash,
        config_hash=cfg.config_hash(),
        sources=[
            st.SourceEntry(
                path=s.path,
                role=s.role,
                sha256=s.sha256,
                bytes=s.bytes,
                format=s.format,
                rows_in=s.rows_in,
                rows_accepted=s.rows_accepted,
                rows_quarantined=s.rows_quarantined,
            )
            for s in stats.sources
        ],
        rows={
            "in": stats.rows_in,
            "accepted": stats.rows_accepted,
            "quarantined": stats.rows_quarantined,
            "train": split_rows.get("train", 0),
            "holdout": split_rows.get("holdout", 0),
        },
        columns={name: str(stored_dtype(run.schema.dtypes[name])) for name in cfg.columns},
        meta_columns=META_COLUMNS,
        target={
            "column": cfg.target.column,
            "positive": cfg.target.positive,
            "labels": list(run.schema.target_labels or []),
        },
        key=list(cfg.key),
        split={"method": cfg.split.method, "holdout_fraction": cfg.split.holdout_fraction},
        files={
            st.DATA_FILE: file_sha256(run.data_path),
            st.QUARANTINE_FILE: file_sha256(run.temp / st.QUARANTINE_FILE),
        },
        created_at=created_at,
        tabship_data_version=distribution_version("tabship-data"),
    )
