"""Shadow mode: the challenger scores what the champion scored, apart from the answers.

A request hands its inputs to the worker's `ShadowQueue` (a list append) and is answered; the
queue's own thread scores what has gathered with the challenger, many requests at a time (a
batch costs a seventh of single-row calls per row), and writes one line per record to a
JSON-lines log beside the prediction log, `<log_path>/<model name>/tabship_shadow/data/
data.<worker>.log` (rotated daily, as BentoML rotates the prediction log): the champion's
`prediction_id` (the key the monitor joins on), the challenger's `score`, `label` (at its own
threshold), `model_version` and `threshold`, the `champion_version`, and `timestamp` and
`request_id` as in the prediction log. The challenger's scores are never returned, and a
failure costs a log line, never an answer. When the challenger falls behind by more than
MAX_PENDING_ROWS rows, new requests are not shadowed (counted in
`tabship_shadow_dropped_total`): shadow mode must not cost the champion its memory.

Not a second `bentoml.monitor` stream: BentoML 1.4's default monitor configures the same two
process-wide loggers for every monitor name, so a second name would take over the first one's
file and the champion's predictions would land in the shadow log.
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabship.data import SHADOW_MONITOR
from tabship.serving.runtime.scorer import Scored, Scorer

MAX_PENDING_ROWS = 50_000  # rows waiting for the challenger; more are not shadowed
WAIT = 0.05  # seconds the thread lets requests gather before it scores them
log = logging.getLogger("tabship.serving.runtime.shadow")
Inputs = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class Pending:
    """One request's inputs, waiting for the challenger that was served with it."""

    challenger: Scorer
    inputs: Inputs
    champion: Scored
    request_id: str
    timestamp: str


class ShadowLog:
    """The shadow log of one worker: its file opened on the first write, appended by whole
    lines.

    The handler is made here, when the service starts, and never by the shadow thread. A handler
    is listed for `logging.shutdown` before it has a stream, and `logging.config.dictConfig`
    flushes every listed handler: one made in a thread while another configured logging broke
    that configuration with an AttributeError. That dropped connections (issue 28, point 14):
    BentoML's monitor configured its loggers on its first write, after an answer (a background
    task), uvicorn closed the connection, and the client's next request got no answer.
    """

    def __init__(self, folder: Path) -> None:
        from bentoml._internal.context import server_context

        self.folder = folder  # <log_path>/<model name>/tabship_shadow/data
        worker = server_context.worker_index or 0
        # logging's handler for its daily rotation and its lock, without a logger: no logger
        # name to share, and nothing of tabship.serving's JSON log formatting. `delay`: no file
        # until the first line.
        self._file = logging.handlers.TimedRotatingFileHandler(
            folder / f"data.{worker}.log", when="D", encoding="utf-8", delay=True
        )
        self._file.setFormatter(logging.Formatter("%(message)s"))
        self._folder_made = False

    def write(self, rows: list[dict[str, Any]]) -> None:
        """ROWS as JSON lines, in one write."""
        if not rows:
            return
        if not self._folder_made:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        text = "\n".join(json.dumps(row) for row in rows)
        self._file.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))


def _rows(item: Pending, probability: Sequence[float], labels: Sequence[int]) -> list[Any]:
    shared = {
        "model_version": item.challenger.version,
        "threshold": item.challenger.facts.threshold,
        "champion_version": item.champion.model_version,
        "timestamp": item.timestamp,
        "request_id": item.request_id,
    }
    return [
        {"prediction_id": i, "score": p, "label": label, **shared}
        for i, p, label in zip(item.champion.prediction_ids, probability, labels, strict=True)
    ]


def _score_one(item: Pending) -> list[Any]:
    if isinstance(item.inputs, Mapping):
        shadow = item.challenger.score_columns(item.inputs)
    else:
        shadow = item.challenger.score_records(item.inputs)
    return _rows(item, shadow.probability.tolist(), shadow.label.tolist())


def _score_together(group: list[Pending]) -> list[Any] | None:
    """The lines of requests served with one challenger, their records scored in one call; None
    when that call fails (an unseen category under the `error` policy fails the whole batch)."""
    records = [r for item in group if not isinstance(item.inputs, Mapping) for r in item.inputs]
    try:
        shadow = group[0].challenger.score_records(records)
    except Exception:
        return None
    probability, labels = shadow.probability.tolist(), shadow.label.tolist()
    lines: list[Any] = []
    start = 0
    for item in group:
        end = start + len(item.champion.prediction_ids)
        lines += _rows(item, probability[start:end], labels[start:end])
        start = end
    return lines


def score_batch(items: list[Pending]) -> list[Any]:
    """The shadow lines of ITEMS: the records of the requests served with one challenger are
    scored in one call; columns (bulk requests), and a batch that failed, request by request,
    and a request that fails is logged and left out."""
    lines: list[Any] = []
    alone = [item for item in items if isinstance(item.inputs, Mapping)]
    together: dict[int, list[Pending]] = {}
    for item in items:
        if not isinstance(item.inputs, Mapping):
            together.setdefault(id(item.challenger), []).append(item)
    for group in together.values():
        scored = _score_together(group)
        if scored is None:
            alone += group
        else:
            lines += scored
    for item in alone:
        try:
            lines += _score_one(item)
        except Exception as error:
            log.warning(
                "shadow scoring failed: %s: %s", type(error).__name__, error,
                extra={"event": "shadow_failed", "challenger_version": item.challenger.version},
            )  # fmt: skip
    return lines


class ShadowQueue:
    """Requests waiting for the challenger, and the thread that scores and logs them."""

    def __init__(self, lines: ShadowLog, on_drop: Callable[[int], None]) -> None:
        self.lines = lines
        self.on_drop = on_drop
        self._pending: list[Pending] = []
        self._rows = 0
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, challenger: Scorer, inputs: Inputs, champion: Scored) -> None:
        """Queue a request for the challenger (called while answering: it only appends)."""
        from bentoml._internal.context import trace_context

        rows = len(champion.prediction_ids)
        with self._ready:
            if self._rows and self._rows + rows > MAX_PENDING_ROWS:
                self.on_drop(rows)
                return
            now = datetime.datetime.now().isoformat()  # local time, as BentoML's log
            item = Pending(challenger, inputs, champion, str(trace_context.request_id), now)
            self._pending.append(item)
            self._rows += rows
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=SHADOW_MONITOR, daemon=True)
                self._thread.start()
            self._ready.notify()

    def _take(self) -> list[Pending]:
        with self._ready:
            while not self._pending:
                self._ready.wait()
        time.sleep(WAIT)  # let the requests of the next few milliseconds join this batch
        with self._ready:
            items, self._pending, self._rows = self._pending, [], 0
        return items

    def _run(self) -> None:
        while True:
            items = self._take()
            try:
                self.lines.write(score_batch(items))
            except Exception as error:  # the thread outlives a full disk
                log.warning("shadow log not written: %s: %s", type(error).__name__, error)
