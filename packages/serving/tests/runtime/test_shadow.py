"""The shadow queue without a server: requests gathered and scored together, one line per
record with the challenger's exact score, bulk requests alone, and no shadowing past the bound."""

from __future__ import annotations

import json
import logging
import logging.handlers
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tabship.serving.runtime import shadow
from tabship.serving.runtime.artifact import read_fields
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.scorer import Scorer
from tabship.serving.runtime.served import load_scorer
from tabship.serving.runtime.shadow import ShadowLog, ShadowQueue
from tabship.serving.simulate.covariate import records

from ..conftest import Project


@pytest.fixture(scope="module")
def scorer(project: Project) -> Scorer:
    return load_scorer(project.tag, read_fields(stored_folder(project.tag)))


@pytest.fixture(scope="module")
def rows(project: Project, scorer: Scorer) -> list[dict[str, Any]]:
    return records(project.holdout().head(20), [f.name for f in scorer.fields])


def _lines(folder: Path, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [
            json.loads(line)
            for path in folder.glob("data.*.log")
            for line in path.read_text(encoding="utf-8").splitlines()
        ]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} shadow lines in {folder}")


def test_requests_are_scored_together_and_logged_line_by_line(
    scorer: Scorer, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    dropped: list[int] = []
    queue = ShadowQueue(ShadowLog(tmp_path), dropped.append)
    requests = [rows[0:1], rows[1:3], rows[3:6]]
    champions = [scorer.score_records(r) for r in requests]
    for inputs, champion in zip(requests, champions, strict=True):
        queue.submit(scorer, inputs, champion)
    columns = {name: [r[name] for r in rows[6:10]] for name in rows[0]}
    bulk = scorer.score_columns(columns)
    queue.submit(scorer, columns, bulk)
    lines = {line["prediction_id"]: line for line in _lines(tmp_path, 10)}
    assert dropped == []
    ids = [i for c in [*champions, bulk] for i in c.prediction_ids]
    assert sorted(lines) == sorted(ids)
    expected = scorer.score_records(rows[:10]).probability  # the same numbers, batch or not
    assert np.array_equal([lines[i]["score"] for i in ids], expected)
    line = lines[ids[0]]
    assert line["model_version"] == line["champion_version"] == scorer.version
    assert line["threshold"] == scorer.facts.threshold
    assert line["label"] == int(line["score"] >= scorer.facts.threshold)
    assert {"timestamp", "request_id"} <= set(line)


def test_past_the_bound_requests_are_not_shadowed_but_counted(
    scorer: Scorer,
    rows: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shadow, "MAX_PENDING_ROWS", 3)
    dropped: list[int] = []
    queue = ShadowQueue(ShadowLog(tmp_path), dropped.append)
    big = rows[0:5]  # alone in the queue: shadowed, however large
    queue.submit(scorer, big, scorer.score_records(big))
    late = rows[5:7]  # while the first waits (the thread gathers for WAIT seconds): dropped
    queue.submit(scorer, late, scorer.score_records(late))
    assert dropped == [2]
    assert len(_lines(tmp_path, 5)) == 5


def test_the_log_handler_is_made_with_the_service_never_by_the_shadow_thread(
    scorer: Scorer, rows: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, point 14: a handler made in a thread while another thread ran
    `logging.config.dictConfig` (BentoML's monitor did, on its first write) broke that call with
    an AttributeError, after an answer, and uvicorn dropped the connection."""
    made_in: list[str] = []

    class Recorded(logging.handlers.TimedRotatingFileHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made_in.append(threading.current_thread().name)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(logging.handlers, "TimedRotatingFileHandler", Recorded)
    folder = tmp_path / "shadow"
    lines = ShadowLog(folder)
    assert made_in == [threading.current_thread().name]
    assert not folder.exists()  # no file until the first line
    dropped: list[int] = []
    queue = ShadowQueue(lines, dropped.append)
    queue.submit(scorer, rows[:2], scorer.score_records(rows[:2]))
    assert len(_lines(folder, 2)) == 2 and dropped == []
    assert made_in == [threading.current_thread().name]
