"""The validation report: counts gathered during a run, as JSON and as a short human summary.

The report accounts for every line of every source: rows read = rows accepted + rows quarantined,
and each non-row line is counted as blank, comment or header. It also says what was changed on
the way in (missing-value tokens made null, label suffixes stripped, dtype casts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tabship.data.ingestion.chunks import LineCounts
from tabship.data.ingestion.coerce import CoercionCounts

MAX_EXAMPLES = 20


@dataclass
class SourceStats:
    """Counts for one source file."""

    path: str
    role: str
    sha256: str
    bytes: int
    format: str
    lines: LineCounts = field(default_factory=LineCounts)
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    malformed_lines: int = 0
    # (column, check) -> failures in this file; malformed lines count under ("", their check).
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def quarantined_fraction(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0

    def add_failures(self, lines: pl.DataFrame) -> None:
        """Count this file's failures (a frame with `column` and `check`) by column and check."""
        for column, check, rows in lines.group_by("column", "check").agg(pl.len()).iter_rows():
            self.failures[(str(column), str(check))] += int(rows)

    def add_malformed(self, malformed: pl.DataFrame) -> None:
        for check, rows in malformed.group_by("check").agg(pl.len()).iter_rows():
            self.failures[("", str(check))] += int(rows)


@dataclass
class RunStats:
    """Counts for a whole run, filled chunk by chunk."""

    sources: list[SourceStats] = field(default_factory=list)
    coercions: CoercionCounts = field(default_factory=CoercionCounts)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    malformed_examples: list[dict[str, Any]] = field(default_factory=list)
    failure_examples: list[dict[str, Any]] = field(default_factory=list)
    split_labels: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Distinct rows (by key, or by content when there is no key) found in both splits.
    rows_in_both_splits: int = 0

    @property
    def rows_in(self) -> int:
        return sum(s.rows_in for s in self.sources)

    @property
    def rows_accepted(self) -> int:
        return sum(s.rows_accepted for s in self.sources)

    @property
    def rows_quarantined(self) -> int:
        return sum(s.rows_quarantined for s in self.sources)

    @property
    def malformed_lines(self) -> int:
        return sum(s.malformed_lines for s in self.sources)

    def add_failures(self, source: str, lines: pl.DataFrame) -> None:
        """Count failures by (column, check); keep a few examples with their location."""
        if not lines.height:
            return
        for column, check, rows in lines.group_by("column", "check").agg(pl.len()).iter_rows():
            self.failures[(str(column), str(check))] += int(rows)
        room = MAX_EXAMPLES - len(self.failure_examples)
        if room > 0:
            for row in lines.head(room).iter_rows(named=True):
                self.failure_examples.append({"source": source, **row})

    def add_malformed(self, source: str, malformed: pl.DataFrame) -> None:
        room = MAX_EXAMPLES - len(self.malformed_examples)
        if room > 0:
            for row in malformed.head(room).select("_line", "check", "value").iter_rows():
                self.malformed_examples.append(
                    {"source": source, "line": row[0], "check": row[1], "value": row[2]}
                )


def merge_stats(parts: list[RunStats]) -> RunStats:
    """One run's counts from its partitions' (the Dask engine), in partition order: every count
    is a sum, so rows read = accepted + quarantined holds for the whole when it holds for each."""
    merged = RunStats()
    for part in parts:
        merged.sources.extend(part.sources)
        for column, tokens in part.coercions.missing.items():
            for token, rows in tokens.items():
                merged.coercions.add_missing(column, token, rows)
        merged.coercions.label_suffix_stripped.update(part.coercions.label_suffix_stripped)
        for column, cast in part.coercions.casts.items():
            entry = merged.coercions.casts.setdefault(column, {**cast, "rows": 0})
            entry["rows"] = int(str(entry["rows"])) + int(str(cast["rows"]))
        merged.failures.update(part.failures)
        merged.split_labels.update(part.split_labels)
        room = MAX_EXAMPLES - len(merged.failure_examples)
        merged.failure_examples.extend(part.failure_examples[: max(room, 0)])
        room = MAX_EXAMPLES - len(merged.malformed_examples)
        merged.malformed_examples.extend(part.malformed_examples[: max(room, 0)])
    return merged


def build_report(
    stats: RunStats,
    *,
    dataset: str,
    version: str,
    status: str,
    na_values: tuple[str, ...],
    nullable: dict[str, bool],
    target: str,
    positive: str,
    label_suffix: str | None,
    max_fraction: float,
    paths: dict[str, str],
    seconds: float,
    created_at: str,
) -> dict[str, Any]:
    """The report as JSON-ready data."""
    rows_in = stats.rows_in
    fraction = stats.rows_quarantined / rows_in if rows_in else 0.0
    by_column = {c: dict(tokens) for c, tokens in sorted(stats.coercions.missing.items())}
    missing = {
        "tokens": list(na_values),
        "treatment": (
            "read as null (missing); kept where the schema column is nullable, otherwise the row "
            "is quarantined with check not_nullable"
        ),
        "by_column": {
            column: {
                "rows": sum(tokens.values()),
                "tokens": tokens,
                "nullable_in_schema": nullable.get(column, False),
            }
            for column, tokens in by_column.items()
        },
    }
    splits: dict[str, dict[str, Any]] = {}
    # train before holdout, then labels in order: the order a reader expects.
    for (split, label), rows in sorted(
        stats.split_labels.items(), key=lambda item: (item[0][0] != "train", item[0])
    ):
        entry = splits.setdefault(split, {"rows": 0, "labels": {}})
        entry["rows"] += rows
        entry["labels"][label] = rows
    for entry in splits.values():
        entry["positive_rate"] = (
            round(entry["labels"].get(positive, 0) / entry["rows"], 6) if entry["rows"] else None
        )
    return {
        "dataset": dataset,
        "dataset_version": version,
        "status": status,
        "rows_in": rows_in,
        "rows_accepted": stats.rows_accepted,
        "rows_quarantined": stats.rows_quarantined,
        "invariant_holds": rows_in == stats.rows_accepted + stats.rows_quarantined,
        "quarantined_fraction": round(fraction, 6),
        "max_quarantined_fraction": max_fraction,
        "malformed_lines": stats.malformed_lines,
        "sources": [
            {
                "path": s.path,
                "role": s.role,
                "format": s.format,
                "sha256": s.sha256,
                "bytes": s.bytes,
                "rows_in": s.rows_in,
                "rows_accepted": s.rows_accepted,
                "rows_quarantined": s.rows_quarantined,
                "malformed_lines": s.malformed_lines,
                "quarantined_fraction": round(s.quarantined_fraction, 6),
                "failures": [
                    {"column": column or None, "check": check, "rows": rows}
                    for (column, check), rows in s.failures.most_common()
                ],
                "lines_blank": s.lines.blank,
                "lines_comment": s.lines.comment,
                "lines_header": s.lines.header,
                "comment_lines_seen": s.lines.comment_examples,
            }
            for s in stats.sources
        ],
        "missing_values": missing,
        "coercions": {
            "label_suffix_stripped": {
                "column": target,
                "suffix": label_suffix,
                "rows_by_source": dict(stats.coercions.label_suffix_stripped),
                "rows": sum(stats.coercions.label_suffix_stripped.values()),
            },
            "dtype_casts": stats.coercions.casts,
        },
        "failures": [
            {"column": column, "check": check, "rows": rows}
            for (column, check), rows in stats.failures.most_common()
        ],
        "failure_examples": stats.failure_examples,
        "malformed_examples": stats.malformed_examples,
        "splits": splits,
        "rows_in_both_splits": stats.rows_in_both_splits,
        "paths": paths,
        "seconds": round(seconds, 3),
        "created_at": created_at,
    }


def summary(report: dict[str, Any]) -> str:
    """A few lines for a person: counts, what was changed, where things went."""
    status = {
        "created": "new version",
        "unchanged": "unchanged: identical input, nothing written",
        "rejected": "REJECTED: not published",
    }.get(report["status"], report["status"])
    sources = report["sources"]
    files = ", ".join(f"{s['path'].rsplit('/', 1)[-1]} {s['rows_in']:,}" for s in sources[:5])
    files += f", and {len(sources) - 5:,} more files" if len(sources) > 5 else ""
    lines = [
        f"{report['dataset']} {report['dataset_version']} ({status})",
        f"  read         {report['rows_in']:>10,} rows ({files})",
        f"  accepted     {report['rows_accepted']:>10,} "
        + "("
        + ", ".join(f"{k} {v['rows']:,}" for k, v in report["splits"].items())
        + ")",
        f"  quarantined  {report['rows_quarantined']:>10,} "
        f"({report['quarantined_fraction']:.2%}, limit {report['max_quarantined_fraction']:.2%}"
        + (f", {report['malformed_lines']:,} malformed lines" if report["malformed_lines"] else "")
        + ")",
    ]
    overlap = report.get("rows_in_both_splits", 0)
    if overlap:
        lines.append(
            f"  overlap      {overlap:,} distinct rows are in both splits (same key or content):"
            " the holdout is not disjoint from training"
        )
    missing = report["missing_values"]["by_column"]
    if missing:
        tokens = "/".join(report["missing_values"]["tokens"])
        parts = ", ".join(f"{c} {v['rows']:,}" for c, v in missing.items())
        lines.append(f"  missing      {tokens!r} read as null: {parts}")
    stripped = report["coercions"]["label_suffix_stripped"]
    if stripped["rows"]:
        lines.append(
            f"  coerced      stripped {stripped['suffix']!r} from {stripped['column']} "
            f"in {stripped['rows']:,} rows"
        )
    for column, cast in report["coercions"]["dtype_casts"].items():
        lines.append(
            f"  coerced      {column}: {cast['from']} -> {cast['to']} ({cast['rows']:,} rows)"
        )
    for failure in report["failures"][:5]:
        check = failure["check"]
        check = check if len(check) <= 50 else check[:47] + "..."  # isin lists run long
        lines.append(f"  failed       {failure['column']}: {check} ({failure['rows']:,} rows)")
    paths = report["paths"]
    for label in ("processed_path", "quarantine_path", "report_path"):
        if paths.get(label):
            lines.append(f"  {label.removesuffix('_path'):<12} {paths[label]}")
    return "\n".join(lines)
