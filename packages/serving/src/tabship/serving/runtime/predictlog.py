"""The prediction log: one JSON line per scored record, written before the answer leaves.

Lines land under `<monitoring>/<model name>/tabship_predictions/data/data.<worker>.log` (one
folder per model, so that the services of several datasets in one project keep apart logs), with
the record's features, score, label, prediction_id, model version, the request's timestamp,
request_id and trace_id: the format `bentoml.monitor` wrote, which `tabship-models monitor` reads.

The guarantee: a prediction is in the log before its answer is sent. `PredictionLog` appends a
request's lines with one write(2) to a file opened O_APPEND, so they are in the kernel's page
cache when the answer leaves: a kill -9 of the worker or of the whole server loses none of them.
A thread fsyncs the file every second, so a crash of the machine itself loses at most the last
second. It replaces `bentoml.monitor`, which wrote row by row through logging after the answer
(a crash lost what was answered; 600,000 rows took 15 s) and warned once per value of the first
record it logged (3.6M log lines after one 200,000-row request).
Read them with `read_log`, which keeps request_id and trace_id as strings: they are long digit
strings that pandas would otherwise turn into floats and round.

`log_lines` and `write_log` write the same lines without a service, for simulated traffic
(`tabship-serving simulate --to-log`): the columns come from `logged_columns`, as the service's
do, and the rest is what the service adds to every line (see `log_lines`).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tabship.data import FieldSpec, ModelLogs
from tabship.serving.runtime.scorer import Scored

# BentoML's default monitor adds these to every line (and renames a logged column of the same name
# with a trailing underscore).
PRESERVED = ("timestamp", "request_id", "trace_id")
Records = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


def field_kinds(fields: Sequence[FieldSpec]) -> dict[str, str]:
    """Each request field's monitor type: categorical where it has categories, else numerical."""
    return {f.name: "categorical" if f.categories is not None else "numerical" for f in fields}


def logged_columns(
    records: Records, scored: Scored, model_version: str, kinds: Mapping[str, str]
) -> list[tuple[str, str, str, list[Any]]]:
    """(name, role, type, values) of each logged column, in the log's order."""
    n = len(scored.probability)
    return [
        *((name, "feature", kind, _column(records, name)) for name, kind in kinds.items()),
        ("score", "prediction", "numerical", scored.probability.tolist()),
        ("label", "prediction", "categorical", scored.label.tolist()),
        ("prediction_id", "prediction", "categorical", list(scored.prediction_ids)),
        ("model_version", "prediction", "categorical", [model_version] * n),
    ]


# Up to this many rows a request's lines come from json.dumps; above, from polars' writer (in C:
# 200,000 rows in about 0.3 s, where json.dumps takes seconds). Both write the shortest form of
# each float that reads back exactly.
SMALL = 256
FSYNC_SECONDS = 1.0
SEGMENT_BYTES = 64 * 1024 * 1024  # a segment is closed at this size even before its time


class LogFullError(RuntimeError):
    """The worker's log has reached its cap, and no closed segment has been read yet: the request
    is refused (503) rather than answered unlogged."""


def serialize(columns: Sequence[tuple[str, Sequence[Any]]], extra: Mapping[str, str]) -> bytes:
    """The JSON lines of COLUMNS (name, values), each row with EXTRA's fields after them."""
    names = [f"{name}_" if name in PRESERVED else name for name, _ in columns]
    rows = len(columns[0][1]) if columns else 0
    if rows <= SMALL:
        out = [
            json.dumps({**dict(zip(names, row, strict=True)), **extra})
            for row in zip(*(values for _, values in columns), strict=True)
        ]
        return "".join(f"{line}\n" for line in out).encode("utf-8")
    import polars as pl

    frame = pl.DataFrame(
        {name: list(values) for name, (_, values) in zip(names, columns, strict=True)},
        strict=False,
    ).with_columns(pl.lit(value, dtype=pl.String).alias(key) for key, value in extra.items())
    return frame.write_ndjson().encode("utf-8")


def one_line(
    record: Mapping[str, Any], scored: Scored, kinds: Mapping[str, str], extra: Mapping[str, str]
) -> bytes:
    """`serialize`'s line for a request of one RECORD, without building columns: /predict_one's
    case (a test holds the two byte for byte equal)."""
    row = {f"{name}_" if name in PRESERVED else name: record.get(name) for name in kinds}
    row["score"] = float(scored.probability[0])
    row["label"] = int(scored.label[0])
    row["prediction_id"] = scored.prediction_ids[0]
    row["model_version"] = scored.model_version
    return (json.dumps({**row, **extra}) + "\n").encode("utf-8")


class PredictionLog:
    """One worker's prediction log file: each request's lines appended before it is answered.

    With SEGMENT_SECONDS (a team store: the replicas' logs are uploaded), or with a cap
    (MAX_BYTES), the log is a series of segments, `data.<worker>.<UTC time>.log`, each closed
    after that many seconds or bytes and never written again: a closed segment can be uploaded,
    or deleted, whole. Without either, one file, `data.<worker>.log`.

    The cap: this worker's files hold at most MAX_BYTES. At the cap, the closed segments that
    CONSUMED says were read (uploaded to the team store, or compacted by the monitor) are deleted,
    oldest first; when none is, the write raises LogFullError and nothing is written. A
    prediction is never answered unlogged, and never deleted before it was read."""

    def __init__(
        self,
        folder: Path,
        worker: int,
        fsync_seconds: float = FSYNC_SECONDS,
        segment_seconds: float | None = None,
        max_bytes: int | None = None,
        consumed: Callable[[Path], bool] | None = None,
    ) -> None:
        self.folder = folder
        self.worker = worker
        self.segment_seconds = segment_seconds
        self.max_bytes = max_bytes
        self.consumed = consumed or (lambda _: False)
        self.segmented = segment_seconds is not None or max_bytes is not None
        # A cap of a few segments at least: one open, the others closed and deletable in turn.
        self.segment_bytes = min(SEGMENT_BYTES, max_bytes // 4) if max_bytes else SEGMENT_BYTES
        self.path = folder / f"data.{worker}.log"
        self._bytes = sum(p.stat().st_size for p in self._files())  # after a restart too
        self._fd: int | None = None  # opened by the first write: no file for a service unused
        self._opened = 0.0
        self._size = 0  # the open file's bytes
        self._lock = threading.Lock()
        self._written = threading.Event()
        self._sync = threading.Thread(
            target=self._fsync_loop, args=(fsync_seconds,), name="tabship-log-fsync", daemon=True
        )
        self._sync.start()

    def write(self, records: Records, scored: Scored, kinds: Mapping[str, str]) -> None:
        """Log a request's rows, with the version that scored them (it travels with the scores,
        so a swap between scoring and answering cannot mislabel them). RECORDS is a list of
        records or a mapping of columns."""
        from bentoml._internal.context import trace_context

        extra = {
            "timestamp": datetime.datetime.now().isoformat(),  # local, as BentoML's monitor
            "request_id": str(trace_context.request_id),
            "trace_id": str(trace_context.trace_id),
        }
        if len(scored.probability) == 1 and not isinstance(records, Mapping):
            self.append(one_line(records[0], scored, kinds, extra))
            return
        columns = [
            (name, values)
            for name, _, _, values in logged_columns(records, scored, scored.model_version, kinds)
        ]
        self.append(serialize(columns, extra))

    def append(self, data: bytes) -> None:
        """DATA at the file's end, whole: one write at a time, repeated until all is written."""
        view = memoryview(data)
        with self._lock:
            if self.max_bytes is not None and self._bytes + len(data) > self.max_bytes:
                self._make_room(len(data))
            # The open file's size, counted here rather than asked of the OS (an fstat a request).
            if self._fd is not None and self._size >= self.segment_bytes:
                self._close()
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.segmented:
                    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%fZ")
                    self.path = self.folder / f"data.{self.worker}.{stamp}.log"
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._opened = time.monotonic()
                self._size = os.fstat(self._fd).st_size
            while view:
                written = os.write(self._fd, view)
                self._bytes += written
                self._size += written
                view = view[written:]
        if not self._written.is_set():  # set() takes a lock each time; the fsync thread clears it
            self._written.set()

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted({*self.folder.glob(f"data.{self.worker}.log"),
                       *self.folder.glob(f"data.{self.worker}.*.log")})  # fmt: skip

    def _make_room(self, size: int) -> None:
        """Delete read segments, oldest first, until SIZE more bytes fit; else LogFullError.
        Called under the lock."""
        if self._fd is not None:
            self._close()  # the open segment is closed: it may be read, and then deleted
        for path in self._files():
            if self._bytes + size <= (self.max_bytes or 0):
                return
            if self.consumed(path):
                length = path.stat().st_size
                path.unlink()
                self._bytes -= length
        if self._bytes + size > (self.max_bytes or 0):
            raise LogFullError(
                f"the prediction log is full ({self._bytes:,} of {self.max_bytes:,} bytes for this "
                "worker) and none of it has been read: run the monitor (it compacts the log), or "
                "raise log_max_bytes"
            )

    def _close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def rotate(self, force: bool = False) -> None:
        """Close the open segment when it is due (its time or size is up) or FORCE: the next
        write opens a new one. Nothing happens without segments or an open file."""
        with self._lock:
            if self.segment_seconds is None or self._fd is None:
                return
            due = time.monotonic() - self._opened >= self.segment_seconds
            if not (force or due or self._size >= self.segment_bytes):
                return
            self._close()

    def closed_segments(self) -> list[Path]:
        """This worker's segments that are closed (never written again), oldest first."""
        with self._lock:
            current = self.path if self._fd is not None else None
            found = self.folder.glob(f"data.{self.worker}.*.log") if self.folder.is_dir() else []
            return sorted(p for p in found if p != current)

    def _fsync_loop(self, seconds: float) -> None:
        while True:
            self._written.wait()
            time.sleep(seconds)
            self._written.clear()
            # Not under the lock (a write would wait for the disk). A segment closed meanwhile was
            # fsynced by rotate(); an fsync of a number reused since is harmless.
            fd = self._fd
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.fsync(fd)


def _column(records: Records, name: str) -> list[Any]:
    if isinstance(records, Mapping):
        return list(records[name])
    return [r.get(name) for r in records]


def log_lines(
    records: Records, scored: Scored, model_version: str, kinds: Mapping[str, str]
) -> list[str]:
    """The lines the service writes for one request of RECORDS (`serialize`, as
    `PredictionLog.write`): each row's columns, then the time of the request (local, ISO), its
    request id (a 63-bit integer, as `middleware._new_request_id` sets) and trace id ("0":
    tracing is off by default)."""
    columns = [(name, values) for name, _, _, values in
               logged_columns(records, scored, model_version, kinds)]  # fmt: skip
    extra = {
        "timestamp": datetime.datetime.now().isoformat(),  # local, as the service writes it
        "request_id": str(secrets.randbits(63)),
        "trace_id": "0",
    }
    return serialize(columns, extra).decode("utf-8").splitlines()


def data_folder(log_path: Path, model_name: str) -> Path:
    """Where MODEL_NAME's service writes its lines under LOG_PATH."""
    return ModelLogs.under(log_path, model_name).predictions


def write_log(log_path: Path, model_name: str, lines: Sequence[str], source: str) -> Path:
    """LINES as a new log file beside the service's, `data.<SOURCE>-<time>-<random>.log`: its
    own file (never one a running service appends to), renamed into place whole."""
    folder = data_folder(log_path, model_name)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    path = folder / f"data.{source}-{stamp}-{uuid.uuid4().hex[:8]}.log"
    scratch = folder / f".{path.name}.tmp"  # outside the readers' data.*.log* pattern
    scratch.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    scratch.replace(path)
    return path


def read_log(log_path: Path, model_name: str) -> pd.DataFrame:
    """Every row logged by MODEL_NAME's service under LOG_PATH, with ids kept as strings."""
    files = sorted(data_folder(log_path, model_name).glob("data.*.log*"))
    frames = [
        pd.read_json(
            f,
            lines=True,
            precise_float=True,  # the default parser rounds the last digits of scores
            dtype={"request_id": str, "trace_id": str, "prediction_id": str, "model_version": str},
        )
        for f in files
        if f.stat().st_size
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
