"""The prediction log (issue 28, points 1 and 2): every answered prediction is in the log, even
when the whole server is killed with SIGKILL mid-burst, and a large first request adds no flood
of warnings to the server's log."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.predictlog import (
    SMALL,
    logged_columns,
    one_line,
    read_log,
    serialize,
)
from tabship.serving.runtime.scorer import Scored

from ..conftest import Project, own_home, start_server


def test_small_and_large_requests_write_the_same_lines() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(SMALL * 3).tolist()
    columns = [
        ("age", [int(a) for a in rng.integers(17, 90, SMALL * 3)]),
        ("workclass", [None if i % 7 == 0 else f"w{i % 5}" for i in range(SMALL * 3)]),
        ("score", scores),
        ("timestamp", ["x"] * (SMALL * 3)),  # a logged column named like an extra field
    ]
    extra = {"timestamp": "2026-12-06T04:00:00", "request_id": "123", "trace_id": "0"}
    large = [json.loads(line) for line in serialize(columns, extra).decode().splitlines()]
    small = []
    for start in range(0, SMALL * 3, SMALL):
        part = [(name, values[start : start + SMALL]) for name, values in columns]
        small += [json.loads(line) for line in serialize(part, extra).decode().splitlines()]
    assert large == small
    assert [row["score"] for row in large] == scores  # every float reads back exactly
    assert large[0]["timestamp_"] == "x" and large[0]["timestamp"] == extra["timestamp"]


def test_one_record_is_written_as_serialize_writes_it() -> None:
    kinds = {"age": "numerical", "workclass": "categorical", "timestamp": "categorical"}
    extra = {"timestamp": "2026-12-06T04:00:00", "request_id": "123", "trace_id": "0"}
    for record in ({"age": 39, "workclass": None, "timestamp": "x"},
                   {"age": None, "workclass": "Private", "timestamp": None}):  # fmt: skip
        scored = Scored(probability=np.array([0.1 + 1 / 3]), label=np.array([0]),
                        prediction_ids=["abc-0"], matrix=np.zeros((1, 2)), model_version="7")  # fmt: skip
        columns = [(n, v) for n, _, _, v in logged_columns([record], scored, "7", kinds)]
        assert one_line(record, scored, kinds, extra) == serialize(columns, extra)  # byte for byte


def test_every_answered_prediction_survives_a_kill_9_under_load(
    project: Project, tmp_path: Path
) -> None:
    # A BentoML home of its own: servers sharing one share their Prometheus files, and a server
    # killed with SIGKILL leaves its files for the next start to find.
    home = own_home(tmp_path / "bentoml", project.tag)
    own = replace(project, log_path=tmp_path / "monitoring", bentoml_home=home)
    server = start_server(own)
    fields = [f.name for f in load_artifact(stored_folder(project.tag)).fields]
    frame = project.holdout()[fields].head(1_000)
    objects = frame.astype(object).where(frame.notna(), None)  # NaN -> null
    records: list[dict[str, Any]] = [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in objects.to_dict(orient="records")
    ]
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    with httpx.Client(base_url=server.url, timeout=30) as client:
        # A first request of 10,000 records on a fresh server: one answer, no warning flood.
        first = client.post("/predict", json={"records": records * 10})
        assert first.status_code == 200
        answered += [p["prediction_id"] for p in first.json()["predictions"]]

    def load(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                batch = records[offset : offset + 250]
                try:
                    answer = client.post("/predict", json={"records": batch})
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code == 200:
                    ids = [p["prediction_id"] for p in answer.json()["predictions"]]
                    with lock:
                        answered.extend(ids)

    threads = [threading.Thread(target=load, args=(i * 250,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    # The supervisor and its workers, no goodbye. A worker leads a process group of its own, so
    # killing the supervisor's group alone would leave it running after the test.
    workers = psutil.Process(server.process.pid).children(recursive=True)
    os.killpg(server.process.pid, signal.SIGKILL)
    for worker in workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    server.process.wait(timeout=30)

    logged = set(read_log(own.log_path, "tabship-adult")["prediction_id"])
    missing = [i for i in answered if i not in logged]
    print(f"answered {len(answered):,} predictions, {len(logged):,} in the log, "
          f"{len(missing)} answered but not logged")  # fmt: skip
    assert len(answered) > 10_000
    assert missing == []
    server_log = (own.log_path.parent / f"server-{server.url.rsplit(':', 1)[1]}.log").read_text()
    # bentoml.monitor warned once per value of the first record it logged (180,000 lines here).
    assert "is duplicated" not in server_log
    assert server_log.count("[WARNING]") < 10, server_log[-2000:]
