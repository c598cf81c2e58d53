"""How an ingest run ends: the report and the manifest, then a published version or a rejection.

A run is published only when nothing in it breaks the config's limits (malformed lines under
`fail`, too large a quarantined fraction); a rejected run keeps its quarantine and report under
`rejected/`, so no row is lost even then.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version as distribution_version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tabship.data.config.contract import fields_to_json, request_fields
from tabship.data.config.schema import stored_dtype
from tabship.data.errors import DataError
from tabship.data.files import display_path, file_sha256, replace_folder
from tabship.data.ingestion.report import RunStats, build_report, summary
from tabship.data.versions import store as st

if TYPE_CHECKING:
    from tabship.data.config.dataset import DatasetConfig
    from tabship.data.config.schema import DatasetSchema
    from tabship.data.ingestion.report import RunStats


class FinishedRun(Protocol):
    """A run that read everything: one process's (`IngestRun`) or a cluster's (`PartitionedRun`)."""

    cfg: DatasetConfig
    schema: DatasetSchema
    stats: RunStats
    temp: Path

    def data_files(self) -> dict[str, Path]: ...

    def manifest_extra(self) -> dict[str, object]: ...


META_COLUMNS = ["split", "row_id", "source_file", "source_line"]
Status = Literal["created", "unchanged", "rejected"]

_MALFORMED_WORDS = {
    "field_count": "ragged line",
    "utf8": "invalid UTF-8",
    "csv_parse": "unparseable line",
}


class RunRejectedError(DataError):
    """The whole input was read, but the run may not be published.

    Raised when the quarantined fraction exceeds the configured limit, or when malformed lines were
    found under `malformed_lines: fail`. `result` says where the quarantine and report went, so
    no row is lost even though no version was created.
    """

    def __init__(
        self,
        message: str,
        result: IngestResult,
        *,
        path: Path | str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message, path=path, line=line)
        self.result = result


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


def existing_result(dataset: str, version: str, folder: Path) -> IngestResult:
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
        processed_path=folder
        / (st.PARTS_FOLDER if (folder / st.PARTS_FOLDER).is_dir() else st.DATA_FILE),
        quarantine_path=folder / st.QUARANTINE_FILE,
        report_path=folder / st.REPORT_FILE,
        manifest_path=folder / st.MANIFEST_FILE,
        report=report,
    )


def source_readers(sources: list[Path]) -> int:
    """Who besides the owner may read every source (group 0o040, other 0o004): a run's data,
    quarantine and report hold the sources' rows, so a 0640 source must not come out as a
    0644 quarantine."""
    readers = st.EVERY_READER
    for path in sources:
        if path.is_file():
            readers &= path.stat().st_mode
    return readers


def conclude(
    run: FinishedRun, root: Path, version: str, full_hash: str, seconds: float
) -> IngestResult:
    cfg, stats = run.cfg, run.stats
    readers = source_readers([*cfg.train_sources, *cfg.holdout_sources, *cfg.feedback_sources()])
    rejected_quarantine = st.rejected_dir(root, cfg.name, version) / st.QUARANTINE_FILE
    rejection = _rejection(run, display_path(rejected_quarantine))
    status: Status = "rejected" if rejection else "created"
    final = (
        st.rejected_dir(root, cfg.name, version)
        if rejection
        else st.version_dir(root, cfg.name, version)
    )
    paths = {
        "processed_path": "" if rejection else display_path(final / _processed_name(run)),
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
        for path in run.data_files().values():
            path.unlink(missing_ok=True)  # rejected rows are not a dataset
        st.restrict(run.temp, readers)
        replace_folder(run.temp, final)
        result = _result(
            cfg.name, version, status, stats=stats, folder=final, report=report, published=False
        )
        raise RunRejectedError(rejection.message, result, path=rejection.path, line=rejection.line)
    fields = fields_to_json(request_fields(cfg, run.schema))
    (run.temp / st.FIELDS_FILE).write_text(fields, encoding="utf-8")
    manifest = _manifest(run, version, full_hash, created_at)
    st.write_json(run.temp / st.REPORT_FILE, report)
    st.write_json(run.temp / st.MANIFEST_FILE, manifest.to_dict())
    if not st.publish(run.temp, final, readers):
        st.set_latest(root, cfg.name, version)
        return existing_result(cfg.name, version, final)
    st.set_latest(root, cfg.name, version)
    return _result(
        cfg.name, version, status, stats=stats, folder=final, report=report, published=True,
        processed=_processed_name(run),
    )  # fmt: skip


def _rejection(run: FinishedRun, quarantine_path: str) -> DataError | None:
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
    limit = cfg.max_quarantined_fraction
    # Each file on its own first: a small bad file must not hide behind a large clean one.
    for source in stats.sources:
        if source.quarantined_fraction > limit:
            return DataError(
                f"{source.rows_quarantined:,} of {source.rows_in:,} rows quarantined "
                f"({source.quarantined_fraction:.2%}), above the limit of {limit:.2%} for a file"
                f"{_most_common(source.failures)}; run not published; {quarantine}",
                path=source.path,
            )
    fraction = stats.rows_quarantined / stats.rows_in if stats.rows_in else 0.0
    if fraction > limit:
        first_source = stats.sources[0].path if stats.sources else None
        return DataError(
            f"{stats.rows_quarantined:,} of {stats.rows_in:,} rows quarantined "
            f"({fraction:.2%}), above the limit of {limit:.2%}{_most_common(stats.failures)}; "
            f"run not published; {quarantine}",
            path=first_source,
        )
    return None


def _most_common(failures: Counter[tuple[str, str]]) -> str:
    """`; most common: ...` for a rejection message, or nothing when there are no failures."""
    if not failures:
        return ""
    (column, check), rows = failures.most_common(1)[0]
    if not column:  # a malformed line has no column
        return f"; most common: {_MALFORMED_WORDS.get(check, check)} ({rows:,} lines)"
    return f"; most common: column {column!r} {check} ({rows:,} rows)"


def _result(
    dataset: str,
    version: str,
    status: Status,
    *,
    stats: RunStats,
    folder: Path,
    report: dict[str, Any],
    published: bool,
    processed: str = st.DATA_FILE,
) -> IngestResult:
    return IngestResult(
        dataset=dataset,
        version=version,
        status=status,
        rows_in=stats.rows_in,
        rows_accepted=stats.rows_accepted,
        rows_quarantined=stats.rows_quarantined,
        processed_path=folder / processed if published else None,
        quarantine_path=folder / st.QUARANTINE_FILE,
        report_path=folder / st.REPORT_FILE,
        manifest_path=folder / st.MANIFEST_FILE if published else None,
        report=report,
    )


def _manifest(run: FinishedRun, version: str, full_hash: str, created_at: str) -> st.Manifest:
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
            **{name: file_sha256(path) for name, path in run.data_files().items()},
            st.QUARANTINE_FILE: file_sha256(run.temp / st.QUARANTINE_FILE),
            st.FIELDS_FILE: file_sha256(run.temp / st.FIELDS_FILE),
        },
        created_at=created_at,
        tabship_data_version=distribution_version("tabship-data"),
        extra=run.manifest_extra(),
    )


def _processed_name(run: FinishedRun) -> str:
    """The accepted rows' path in the version folder: the data file, or the parts' folder."""
    names = list(run.data_files())
    return names[0] if names == [st.DATA_FILE] else st.PARTS_FOLDER
