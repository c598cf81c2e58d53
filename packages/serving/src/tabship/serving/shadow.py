"""Shadow mode: the challenger scores what the champion scored, after the answer is sent.

Its scores go to their own JSON-lines log beside the prediction log,
`<log_path>/<model name>/tabship_shadow/data/data.<worker>.log` (rotated daily, as BentoML
rotates the prediction log), one line per record: the champion's `prediction_id` (the key the
monitor joins on), the challenger's `score`, `label` (at its own threshold), `model_version` and
`threshold`, the `champion_version`, and `timestamp` and `request_id` as in the prediction log.
They are never returned. A challenger that fails on a request costs a log line, never the answer.

Not a second `bentoml.monitor` stream: BentoML 1.4's default monitor configures the same two
process-wide loggers for every monitor name, so a second name would take over the first one's
file and the champion's predictions would land in the shadow log.
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tabship.serving.scorer import Scored, Scorer

SHADOW_NAME = "tabship_shadow"
log = logging.getLogger("tabship.serving.shadow")
Inputs = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


class ShadowLog:
    """The shadow log of one worker: opened on the first write, appended by whole lines."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder  # <log_path>/<model name>/tabship_shadow/data
        self._lines: logging.Logger | None = None

    def _open(self) -> logging.Logger:
        from bentoml._internal.context import server_context

        self.folder.mkdir(parents=True, exist_ok=True)
        worker = server_context.worker_index or 0
        # A logger of its own, outside tabship.serving's JSON-formatted tree: the handler's lock
        # keeps the lines of concurrent requests whole, and it rotates the file daily.
        lines = logging.getLogger(f"tabship_shadow_lines.{worker}")
        handler = logging.handlers.TimedRotatingFileHandler(
            self.folder / f"data.{worker}.log", when="D", encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        lines.handlers[:] = [handler]
        lines.setLevel(logging.INFO)
        lines.propagate = False
        return lines

    def write(self, champion: Scored, shadow: Scored, threshold: float) -> None:
        """One line per record (see the module's docstring)."""
        from bentoml._internal.context import trace_context

        if self._lines is None:
            self._lines = self._open()
        shared = {
            "model_version": shadow.model_version,
            "threshold": threshold,
            "champion_version": champion.model_version,
            "timestamp": datetime.datetime.now().isoformat(),  # local time, as BentoML's log
            "request_id": str(trace_context.request_id),
        }
        rows = zip(
            champion.prediction_ids,
            shadow.probability.tolist(),
            shadow.label.tolist(),
            strict=True,
        )
        text = "\n".join(
            json.dumps({"prediction_id": i, "score": p, "label": label, **shared})
            for i, p, label in rows
        )
        self._lines.info(text)  # one emit for the whole request: its lines stay together


def shadow_score(challenger: Scorer, inputs: Inputs, champion: Scored, lines: ShadowLog) -> None:
    """Score INPUTS (records, or columns) with CHALLENGER and log them against CHAMPION's
    prediction ids. Runs after the answer: it never raises."""
    try:
        if isinstance(inputs, Mapping):
            shadow = challenger.score_columns(inputs)
        else:
            shadow = challenger.score_records(inputs)
        lines.write(champion, shadow, challenger.facts.threshold)
    except Exception as error:
        log.warning(
            "shadow scoring failed: %s: %s",
            type(error).__name__,
            error,
            extra={"event": "shadow_failed", "challenger_version": challenger.version},
        )
