"""The prediction log's cap: at it, only segments already read are deleted; when none is, the
write is refused whole. Nothing answered is ever unlogged, and nothing unread is deleted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tabship.data import ModelLogs
from tabship.serving.runtime.artifact import load_artifact
from tabship.serving.runtime.logcap import read_segments
from tabship.serving.runtime.modelstore import stored_folder
from tabship.serving.runtime.predictlog import LogFullError, PredictionLog, read_log

from ..conftest import Project, own_home, serving_config, start_server, stop_server

CAP = 40_000  # about ten requests, in segments of 10,000 bytes


def _request(number: int) -> bytes:
    """A request's 100 lines, each with its own id (about 4,000 bytes)."""
    return b"".join(b'{"prediction_id": "r%05d-%03d", "score": 0.5}\n' % (number, i)
                    for i in range(100))  # fmt: skip


def _ids(folder: Path) -> set[str]:
    return {json.loads(line)["prediction_id"] for p in folder.glob("data.*.log")
            for line in p.read_text().splitlines()}  # fmt: skip


def _compact(logs: ModelLogs) -> set[str]:
    """What the monitor's compaction records (each file read to its current end); the ids read."""
    files = {p.name: {"inode": p.stat().st_ino, "offset": p.stat().st_size, "line": 0}
             for p in logs.predictions.glob("data.*.log")}  # fmt: skip
    logs.compacted.mkdir(parents=True, exist_ok=True)
    logs.compaction_state.write_text(json.dumps({"files": files}))
    return _ids(logs.predictions)


def _size(logs: ModelLogs) -> int:
    return sum(p.stat().st_size for p in logs.predictions.glob("data.*.log"))


def test_at_the_cap_unread_segments_stay_and_the_write_is_refused(tmp_path: Path) -> None:
    logs = ModelLogs.under(tmp_path, "m")
    log = PredictionLog(logs.predictions, 0, max_bytes=CAP, consumed=read_segments(logs, None))
    accepted = set()
    with pytest.raises(LogFullError, match="the prediction log is full"):
        for number in range(100):
            log.append(_request(number))
            accepted.add(number)
    assert len(accepted) == CAP // len(_request(0))  # up to the cap, whole requests only
    assert _ids(logs.predictions) == {f"r{n:05d}-{i:03d}" for n in accepted for i in range(100)}
    assert _size(logs) <= CAP
    read = _compact(logs)  # the monitor reads everything: room is made from read segments
    log.append(_request(100))
    assert _size(logs) <= CAP
    assert {f"r00100-{i:03d}" for i in range(100)} <= _ids(logs.predictions)
    assert _ids(logs.predictions) - {f"r00100-{i:03d}" for i in range(100)} <= read


def test_unread_rows_are_never_deleted(tmp_path: Path) -> None:
    logs = ModelLogs.under(tmp_path, "m")
    log = PredictionLog(logs.predictions, 0, max_bytes=CAP, consumed=read_segments(logs, None))
    for number in range(5):
        log.append(_request(number))
    read = _compact(logs)  # the first five requests are read (the open segment only so far)
    accepted = set(range(5))
    with pytest.raises(LogFullError):
        for number in range(5, 100):
            log.append(_request(number))
            accepted.add(number)
    logged = {f"r{n:05d}-{i:03d}" for n in accepted for i in range(100)}
    present = _ids(logs.predictions)
    assert logged - present <= read  # only rows the monitor had read are gone
    assert len(accepted) > CAP // len(_request(0))  # their room let more in than the cap alone
    assert _size(logs) <= CAP


def test_a_restarted_worker_counts_what_is_there(tmp_path: Path) -> None:
    logs = ModelLogs.under(tmp_path, "m")
    first = PredictionLog(logs.predictions, 0, max_bytes=CAP)
    for number in range(CAP // len(_request(0))):
        first.append(_request(number))
    again = PredictionLog(logs.predictions, 0, max_bytes=CAP)
    with pytest.raises(LogFullError):
        again.append(_request(99))


def test_a_full_log_answers_503_until_the_monitor_has_read_it(
    project: Project, tmp_path: Path
) -> None:
    """A real server with a 1 MiB cap: requests are answered and logged until the cap, then
    refused with a 503 and Retry-After (never answered unlogged); `tabship-models monitor`
    compacts the log, and the next request is answered again."""
    from tabship.models.cli import main

    home = own_home(tmp_path / "bentoml", project.tag)
    own = replace(project, log_path=tmp_path / "monitoring", bentoml_home=home)
    config = serving_config(tmp_path, "capped", log_max_bytes=1024**2)
    server = start_server(own, extra={"TABSHIP_SERVING_CONFIG": str(config)})
    fields = [f.name for f in load_artifact(stored_folder(project.tag)).fields]
    frame = project.holdout()[fields].head(500)
    records = json.loads(frame.to_json(orient="records"))
    answered: list[str] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for _ in range(40):  # 500 records are about 150 KB of log: the cap is reached
                answer = client.post("/predict", json={"records": records})
                if answer.status_code != 200:
                    break
                answered += [p["prediction_id"] for p in answer.json()["predictions"]]
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "5"
            assert "the prediction log is full" in answer.json()["message"]
            logged = read_log(own.log_path, "tabship-adult")
            assert set(answered) == set(logged["prediction_id"])  # every answer logged
            command = ["--project", str(project.root), "monitor", "--log", str(own.log_path),
                       "--json", "--no-plots"]  # fmt: skip
            assert main(command) == 0
            again = client.post("/predict", json={"records": records})
            assert again.status_code == 200, again.text
    finally:
        stop_server(server.process)
