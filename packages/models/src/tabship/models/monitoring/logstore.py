"""The prediction log, compacted: the service's JSON lines into date-partitioned parquet.

The service appends one JSON line per scored record, before answering, under
`<log_path>/<model name>/tabship_predictions/data/data.<worker>.log`. `compact` reads what was
appended since its last run, checks each row with pandera, and writes the good rows to
`<store>/date=YYYY-MM-DD/part-*.parquet`; a line that does not parse or fails the check goes to
`<store>/quarantine.jsonl` with its file, line number and text. Nothing is lost: lines read =
rows written + lines quarantined + duplicates dropped. Re-running over the same log adds nothing:
the offset reached in each file is kept in `<store>/state.json`, written after the rows, and a
prediction id already stored is dropped rather than written twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl

from tabship.data import COMPACTION_STATE, atomic_write_json

STATE = COMPACTION_STATE  # tabship.data owns the name: the service reads the file too
QUARANTINE = "quarantine.jsonl"
BLOCK_BYTES = 64 * 1024 * 1024  # read a log in blocks of about this size: memory stays bounded
REQUIRED = {
    "prediction_id": pl.String,
    "score": pl.Float64,
    "label": pl.Int64,
    "model_version": pl.String,
    "timestamp": pl.String,
}
ROW_CHECK = pa.DataFrameSchema(
    {
        "prediction_id": pa.Column(pl.String, pa.Check.str_length(min_value=1)),
        "score": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0)),
        "label": pa.Column(pl.Int64, pa.Check.isin([0, 1])),
        "model_version": pa.Column(pl.String),
        "ts": pa.Column(pl.Datetime("us")),
    },
    strict=False,
)


@dataclass
class CompactResult:
    """What one compaction read and wrote."""

    lines_read: int = 0
    rows_written: int = 0
    lines_quarantined: int = 0
    duplicates: int = 0
    files: list[str] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _state(store: Path) -> dict[str, dict[str, int]]:
    try:
        loaded = json.loads((store / STATE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    files = loaded.get("files", {})
    return {str(k): {"inode": int(v["inode"]), "offset": int(v["offset"]), "line": int(v["line"])}
            for k, v in files.items()}  # fmt: skip


def _blocks(
    path: Path, offset: int, line: int, until: int
) -> Iterator[tuple[list[bytes], int, int]]:
    """(lines, first line number, offset after) blocks of whole lines from OFFSET up to UNTIL,
    the file's size when the run started. A service appends while a run reads: chasing the end
    of the file gave a block per few lines written, each checked against every stored id, and a
    run under steady load that never finished. What comes after UNTIL is the next run's."""
    with path.open("rb") as handle:
        handle.seek(offset)
        while offset < until:
            data = handle.read(min(BLOCK_BYTES, until - offset))
            if not data:
                return
            end = data.rfind(b"\n")
            if end < 0:
                return  # a line still being written: the next run reads it whole
            whole = data[: end + 1]
            handle.seek(offset + len(whole))
            lines = whole.split(b"\n")[:-1]
            yield lines, line + 1, offset + len(whole)
            offset += len(whole)
            line += len(lines)


def _parse(
    lines: list[bytes], source: str, first: int
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Rows of the lines that parse, with `_line`; the others as quarantine records."""
    bad: list[dict[str, Any]] = []
    try:  # the fast path: polars reads the whole block
        frame = pl.read_ndjson(b"\n".join(lines), infer_schema_length=None)
        frame = frame.with_row_index("_line", offset=first)
    except (pl.exceptions.PolarsError, ValueError):
        good, numbers = [], []
        for i, raw in enumerate(lines):
            try:
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError as error:
                text = raw.decode("utf-8", errors="replace")
                bad.append({"file": source, "line": first + i, "raw": text, "error": str(error)})
                continue
            good.append(record)
            numbers.append(first + i)
        frame = (
            pl.from_dicts(good, infer_schema_length=None, strict=False) if good else pl.DataFrame()
        )
        frame = frame.with_columns(pl.Series("_line", numbers, dtype=pl.UInt32))
    return frame, bad


def _checked(
    frame: pl.DataFrame, source: str, features: Mapping[str, pl.DataType]
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """The rows that pass the row check, in fixed dtypes, and the others as quarantine records."""
    wanted: dict[str, Any] = {**REQUIRED, **features}
    frame = frame.with_columns(
        pl.lit(None).alias(c) for c in features if c not in frame.columns
    )  # a feature that is null in every row of a block may be absent from its JSON
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        records = [
            {"file": source, "line": n, "raw": None, "error": f"missing field(s) {missing}"}
            for n in frame["_line"].to_list()
        ]
        return frame.clear(), records
    typed = frame.with_columns(
        *(pl.col(c).cast(t, strict=False).alias(f"_t_{c}") for c, t in wanted.items()),
    ).with_columns(pl.col("_t_timestamp").str.to_datetime(time_unit="us", strict=False).alias("ts"))
    failed = pl.any_horizontal(
        *(pl.col(c).is_not_null() & pl.col(f"_t_{c}").is_null() for c in wanted),
        pl.col("ts").is_null(),
    )
    bad_rows = typed.filter(failed)
    good = (
        typed.filter(~failed)
        .with_columns(*(pl.col(f"_t_{c}").alias(c) for c in wanted))
        .select(*wanted, "ts", "_line")
    )
    try:
        ROW_CHECK.validate(good, lazy=True)
        rejected = pl.Series("_line", [], dtype=pl.UInt32)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        index = cases["index"] if isinstance(cases, pl.DataFrame) else pl.Series(cases["index"])
        rows = sorted({int(i) for i in index.drop_nulls().to_list()})
        rejected = good[rows]["_line"]
    records = [
        {"file": source, "line": int(n), "raw": None, "error": "a field of the wrong type"}
        for n in bad_rows["_line"].to_list()
    ] + [
        {"file": source, "line": int(n), "raw": None, "error": "failed the row check"}
        for n in rejected.to_list()
    ]
    good = good.filter(~pl.col("_line").is_in(rejected.implode()))
    return good, records


def _stored_ids(store: Path, dates: list[str]) -> pl.Series:
    files = [p for d in dates for p in (store / f"date={d}").glob("*.parquet")]
    if not files:
        return pl.Series("prediction_id", [], dtype=pl.String)
    return pl.scan_parquet(files).select("prediction_id").collect()["prediction_id"]


def _write(store: Path, rows: pl.DataFrame, result: CompactResult) -> None:
    rows = rows.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_date"))
    dates = sorted(rows["_date"].unique().to_list())
    known = _stored_ids(store, dates)
    fresh = rows.filter(~pl.col("prediction_id").is_in(known.implode())).unique(
        "prediction_id", keep="first", maintain_order=True
    )
    result.duplicates += rows.height - fresh.height
    for (date,), part in fresh.group_by("_date", maintain_order=True):
        folder = store / f"date={date}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"part-{uuid.uuid4().hex}.parquet"
        scratch = folder / f".{target.name}.tmp"
        part.drop("_date", "_line").write_parquet(scratch)
        scratch.replace(target)  # a reader never sees half a file
        result.partitions.append(str(target.relative_to(store)))
    result.rows_written += fresh.height


def compact(
    log: Path, store: Path, features: Mapping[str, pl.DataType] | None = None
) -> CompactResult:
    """Append what was logged in LOG (a model's `tabship_predictions/data` folder) since the last
    run to STORE, with the input FEATURES in these dtypes (other logged columns are dropped). See
    the module's docstring for the guarantees."""
    store.mkdir(parents=True, exist_ok=True)
    state = _state(store)
    result = CompactResult()
    quarantine: list[dict[str, Any]] = []
    for path in sorted(log.glob("data.*.log*")) if log.is_dir() else []:
        seen = state.get(path.name)
        status = path.stat()  # once: the size read up to is the size checked against
        inode = status.st_ino
        offset, line = (seen["offset"], seen["line"]) if seen and seen["inode"] == inode else (0, 0)
        if offset > status.st_size:
            offset, line = 0, 0  # the file was truncated or replaced: read it again
        for lines, first, after in _blocks(path, offset, line, status.st_size):
            frame, bad = _parse(lines, path.name, first)
            result.lines_read += len(lines)
            good, rejected = (
                _checked(frame, path.name, features or {}) if frame.height else (frame, [])
            )
            for record in rejected:  # the line's own text, for the quarantine
                record["raw"] = lines[record["line"] - first].decode("utf-8", errors="replace")
            quarantine += bad + rejected
            if good.height:
                _write(store, good, result)
            offset, line = after, first - 1 + len(lines)
        state[path.name] = {"inode": inode, "offset": offset, "line": line}
        result.files.append(path.name)
    result.lines_quarantined = len(quarantine)
    if quarantine:
        with (store / QUARANTINE).open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r) + "\n" for r in quarantine)
    atomic_write_json(store / STATE, {"files": state})
    return result


def read_window(
    store: Path, rows: int | None = None, model_version: str | None = None
) -> pl.DataFrame:
    """The newest ROWS compacted predictions (all when None) of MODEL_VERSION (any when None),
    oldest first. The filter runs in the scan, so other versions' rows are never loaded."""
    files = sorted(store.glob("date=*/*.parquet"))
    if not files:
        return pl.DataFrame()
    # Files compacted before a column was logged lack it: it reads as null there.
    frame = pl.scan_parquet(files, missing_columns="insert")
    if model_version is not None:
        frame = frame.filter(pl.col("model_version") == model_version)
    frame = frame.sort("ts", maintain_order=True)
    return (frame.tail(rows) if rows else frame).collect()
