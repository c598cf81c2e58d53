"""Shadow mode and the registry watch, on a real `bentoml serve` process over one small project.

Server B (conftest.py's server_b: one worker, the registry watch every second, shadow mode): the
challenger's scores logged and never returned, compared live by `tabship-models monitor`, and the
watch following a rollback and a new challenger. The reload endpoint has test_hotswap.py.

The tests share the project (conftest.py's swap_project, one per module), its registry and the
server (module fixtures: each server start and each training costs seconds), so they run in file
order; each reads the registry's state rather than assuming it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.metrics import roc_auc_score

from tabship.data import ModelLogs
from tabship.models import CHALLENGER
from tabship.serving.runtime.predictlog import read_log
from tabship.serving.runtime.served import load_scorer
from tabship.serving.simulate.covariate import records

from ..conftest import Shadowed, served_version, stored_fields, swap_registry, wait_for


def _shadow_lines(log_path: Path) -> pd.DataFrame:
    folder = log_path / "tabship-adult" / "tabship_shadow" / "data"
    lines = [
        json.loads(line)
        for path in sorted(folder.glob("data.*.log*"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    columns = ["prediction_id", "score", "label", "model_version", "champion_version"]
    return pd.DataFrame(lines) if lines else pd.DataFrame(columns=columns)


@contextlib.contextmanager
def _explained(shadowed: Shadowed) -> Iterator[None]:
    """A dropped connection fails with what the server was doing: whether the server and its
    worker still run, and the end of the server's log. (This test dropped one now and then until
    the cause was found: a failure after an answer, when BentoML's monitor configured logging
    while the shadow thread made its handler; see shadow.ShadowLog and GuardMiddleware.)"""
    try:
        yield
    except httpx.TransportError as error:
        server = shadowed.server
        port = server.url.rsplit(":", 1)[1]
        log = shadowed.project.log_path.parent / f"server-{port}.log"
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else ""
        workers = [(p.pid, p.status(), p.create_time()) for p in
                   psutil.Process(server.process.pid).children(recursive=True)]  # fmt: skip
        raise AssertionError(
            f"{type(error).__name__}: {error}; server exit code {server.process.poll()}, "
            f"workers {workers}; the server's log ends:\n{tail}"
        ) from error


def test_b_shadow_mode_logs_the_challenger_and_never_answers_with_it(
    server_b: Shadowed, capsys: pytest.CaptureFixture[str]
) -> None:
    from tabship.models.cli import main

    project, url = server_b.project, server_b.server.url
    fields = stored_fields(project)
    champion = load_scorer(server_b.champion, fields)
    challenger = load_scorer(server_b.challenger, fields)
    assert champion.version != challenger.version
    frame = project.holdout().head(400)
    sent = records(frame, [f.name for f in fields])
    ids, probabilities, versions = [], [], set()
    with _explained(server_b), httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, 300, 50):  # /predict: 50 records a request
            document = client.post("/predict", json={"records": sent[start : start + 50]}).json()
            versions.add(document["model_version"])
            for p in document["predictions"]:
                ids.append(p["prediction_id"])
                probabilities.append(p["probability"])
        # Both routes hand their rows to the shadow queue; its thread scores them with the
        # challenger after the answers are sent.
        for record in sent[300:]:  # /predict_one: one record a request
            [p] = client.post("/predict_one", json={"records": [record]}).json()
            versions.add(p["model_version"])
            ids.append(p["prediction_id"])
            probabilities.append(p["probability"])
    # The answers are the champion's, to the last digit: the challenger changes nothing.
    assert versions == {champion.version}
    expected = champion.score_records(sent).probability
    assert np.array_equal(np.asarray(probabilities), expected)

    wait_for(lambda: len(_shadow_lines(project.log_path)) >= 400, 15, "400 shadow lines")
    shadow = _shadow_lines(project.log_path).set_index("prediction_id")
    assert len(shadow) == 400 and set(shadow.index) == set(ids)
    assert set(shadow["model_version"]) == {challenger.version}
    assert set(shadow["champion_version"]) == {champion.version}
    theirs = challenger.score_records(sent).probability
    assert np.array_equal(shadow.loc[ids, "score"].to_numpy(np.float64), theirs)
    # The champion's own log is whole: the shadow log is a file of its own.
    wait_for(
        lambda: set(ids) <= set(read_log(project.log_path, "tabship-adult")["prediction_id"]),
        15,
        "the champion's rows in the prediction log",
    )

    # Labels arrive; the monitor compares the two models live on the same rows.
    # `--log` names the monitoring folder: the log, its compacted rows and the labels.
    labels = ModelLogs.under(project.log_path, "tabship-adult").labels
    labels.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"prediction_id": ids, "label": frame["income"]}).to_csv(
        labels / "labels.csv", index=False
    )
    command = ["--project", str(project.root), "monitor", "--log", str(project.log_path)]
    assert main([*command, "--json", "--no-plots", "--min-labels", "100"]) == 0
    report = json.loads(capsys.readouterr().out)
    found = report["shadow"]
    assert found["challenger_version"] == challenger.version
    assert found["rows"] == found["window_rows"] == report["window"]["rows"] == 400
    truth = (frame["income"] == ">50K").to_numpy()
    assert found["challenger_live"]["roc_auc"] == pytest.approx(roc_auc_score(truth, theirs))
    assert found["champion_live"]["roc_auc"] == pytest.approx(report["live"]["roc_auc"])
    same = np.mean((expected >= champion.facts.threshold) == (theirs >= challenger.facts.threshold))
    assert found["agreement"]["label_agreement"] == pytest.approx(same)
    assert main([*command, "--no-plots", "--min-labels", "100"]) == 0
    summary = capsys.readouterr().out
    assert f"shadow: challenger version {challenger.version} scored 400 of 400" in summary


def test_b_the_watch_follows_a_rollback_and_a_new_challenger(
    server_b: Shadowed, rows: list[dict[str, Any]]
) -> None:
    server, project = server_b.server, server_b.project
    served = served_version(server, rows[0])
    registry = swap_registry(project)
    restored, _ = registry.rollback()  # no --notify: the watch must see it
    assert restored.version != served
    wait_for(lambda: served_version(server, rows[0]) == restored.version, 20, "rollback seen")
    # The challenger was the restored champion: pointed elsewhere, the watch reloads it too.
    registry.client.set_registered_model_alias(registry.name, CHALLENGER, served)

    def shadowed_by_new_challenger() -> bool:
        answer = httpx.post(f"{server.url}/predict_one", json={"records": [rows[1]]}, timeout=30)
        [prediction] = answer.json()
        time.sleep(0.2)  # the shadow line is written after the answer
        lines = _shadow_lines(project.log_path)
        line = lines[lines["prediction_id"] == prediction["prediction_id"]]
        return len(line) == 1 and list(line["model_version"]) == [served]

    wait_for(shadowed_by_new_challenger, 20, "the new challenger shadowed")
