"""The service follows the champion, on real `bentoml serve` processes over one small project.

Server A (two workers, a reload token, no watch): a reload under concurrency-16 traffic, the
401, a rollback followed through `tabship-models rollback --notify`. Server B (one worker, the
registry watch every second, shadow mode): the challenger's scores logged and never returned,
compared live by `tabship-models monitor`, and the watch following a rollback and a new
challenger. Last, a champion with other request fields: both servers refuse it and serve on.

The tests share the project, its registry and the two servers (module fixtures: each server
start and each training costs seconds), so they run in file order; each reads the registry's
state rather than assuming it, and the test that changes the request schema comes last.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import bentoml
import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from tabship.data import FieldSpec, project_at
from tabship.models import CHALLENGER, CHAMPION, Registry, load_train_config, train
from tabship.serving.artifact import read_fields
from tabship.serving.predictlog import read_log
from tabship.serving.served import load_scorer
from tabship.serving.simulate import records

from .conftest import Project, Server, own_home, start_server, stop_server

TOKEN = "reload-secret"
CONCURRENCY = 16


def _registry(project: Project) -> Registry:
    config = load_train_config(project.home.dataset())
    return Registry(project.home, config.model_name, config.experiment)


def _version(project: Project, alias: str) -> str:
    found = _registry(project).alias(alias)
    assert found is not None, alias
    return found.version


def _retrain(project: Project, **train_overrides: Any) -> str:
    """Train again with TRAIN_OVERRIDES in train.yaml; the new version (promoted by the gate)."""
    path = project.root / "configs" / "datasets" / "adult" / "train.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.update(train_overrides)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = train(project.root)
    assert result.status == "promoted", result.gate_table
    return result.model_version


def _serving_config(folder: Path, name: str, **settings: Any) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def _reload(server: Server, token: str | None = TOKEN) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.url}/admin/reload", headers=headers, timeout=60)


def _served_version(server: Server, record: dict[str, Any]) -> str:
    answer = httpx.post(f"{server.url}/predict_one", json={"records": [record]}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()[0]["model_version"])


def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def _model_info(server: Server) -> dict[str, float]:
    """tabship_model_info per model_version (BentoML sums workers' files by `max`)."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{server.url}/metrics", timeout=30).text.splitlines():
        if line.startswith("tabship_model_info{"):
            version = line.split('model_version="', 1)[1].split('"', 1)[0]
            found[version] = float(line.rsplit(" ", 1)[1])
    return found


@dataclass(frozen=True)
class Answer:
    started: float
    version: str
    ids: list[str]


@dataclass
class Traffic:
    """CONCURRENCY threads, each with its own keep-alive client, alternating /predict_one and a
    3-record /predict until stopped; every answer's version is checked to be one version."""

    url: str
    rows: list[dict[str, Any]]
    answers: list[Answer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _one(self, client: httpx.Client, n: int) -> None:
        started = time.monotonic()
        if n % 2:
            response = client.post("/predict_one", json={"records": [self.rows[n % 100]]})
            body = response.json() if response.status_code == 200 else None
            predictions = body or []
            version = predictions[0]["model_version"] if predictions else ""
        else:
            batch = [self.rows[(n + i) % 100] for i in range(3)]
            response = client.post("/predict", json={"records": batch})
            document = response.json() if response.status_code == 200 else {}
            predictions = document.get("predictions", [])
            version = document.get("model_version", "")
        if response.status_code != 200:
            self.failures.append(f"{response.status_code}: {response.text[:200]}")
            return
        if {p["model_version"] for p in predictions} != {version}:
            self.failures.append(f"an answer names two versions: {predictions}")
        self.answers.append(Answer(started, version, [p["prediction_id"] for p in predictions]))

    def _run(self, seed: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = seed
            while not self.stop.is_set():
                try:
                    self._one(client, n)
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                n += 1

    def __enter__(self) -> Traffic:
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(CONCURRENCY)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.fixture(scope="module")
def swap_project(
    project: Project,
    tmp_path_factory: pytest.TempPathFactory,
    make_small_project: Callable[[Path], Path],
) -> Project:
    """A project of its own (its registry changes here), trained in the session's environment
    (PROJECT sets it up); each server gets a BentoML home of its own (see own_home), where its
    reloads store what they load."""
    from tabship.serving.modelstore import store_champion

    base = tmp_path_factory.mktemp("swap")
    root = make_small_project(base / "project")
    train(root)
    stored = store_champion(project_at(root))
    home = own_home(base / "bentoml-a", stored.tag)
    return Project(root, home, stored.tag, base / "monitoring-a")


def _fields(project: Project) -> list[FieldSpec]:
    return read_fields(Path(bentoml.models.get(project.tag).path))  # the session's store


@pytest.fixture(scope="module")
def rows(swap_project: Project) -> list[dict[str, Any]]:
    return records(swap_project.holdout().head(400), [f.name for f in _fields(swap_project)])


@pytest.fixture(scope="module")
def server_a(swap_project: Project) -> Iterator[Server]:
    config = _serving_config(swap_project.root, "serving-a", workers=2)
    extra = {"TABSHIP_SERVING_CONFIG": str(config), "TABSHIP_RELOAD_TOKEN": TOKEN}
    running = start_server(swap_project, extra=extra)
    yield running
    stop_server(running.process)


def test_a_reload_under_load_swaps_every_worker_with_no_failed_request(
    swap_project: Project, server_a: Server, rows: list[dict[str, Any]]
) -> None:
    old = _served_version(server_a, rows[0])
    assert old == _version(swap_project, CHAMPION)
    new = _retrain(swap_project, seed=7)
    assert new != old
    with Traffic(server_a.url, rows) as traffic:
        time.sleep(1.5)
        answer = _reload(server_a)
        reloaded = time.monotonic()
        time.sleep(6.0)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert (document["status"], document["model_version"]) == ("reloaded", new)
    assert document["previous_version"] == old
    assert traffic.failures == []
    assert {a.version for a in traffic.answers} == {old, new}
    # The other worker follows the marker within a tick (0.5 s) and a model load.
    late = [a for a in traffic.answers if a.started > reloaded + 3.5]
    assert len(late) > CONCURRENCY
    assert {a.version for a in late} == {new}
    # Every worker serves the new model: with either one still on the old, its series would be 1.
    _wait_for(lambda: _model_info(server_a) == {old: 0.0, new: 1.0}, 10, "both workers swapped")
    fresh = {_served_version(server_a, rows[i]) for i in range(2 * CONCURRENCY)}
    assert fresh == {new}

    # The prediction log records, for every row, the version that answered it.
    answered = {i: a.version for a in traffic.answers for i in a.ids}

    def logged() -> pd.DataFrame:
        return read_log(server_a.log_path, "tabship-adult")

    _wait_for(lambda: set(answered) <= set(logged()["prediction_id"]), 10, "every row logged")
    log = logged().set_index("prediction_id")["model_version"]
    assert all(log[i] == version for i, version in answered.items())


def test_a_reload_needs_the_token_and_answers_in_the_error_shape(server_a: Server) -> None:
    for token in (None, "wrong"):
        refused = _reload(server_a, token)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        body = refused.json()
        assert set(body) == {"error", "message", "details"}
        assert body["error"] == "unauthorized" and "TABSHIP_RELOAD_TOKEN" in body["message"]
    assert httpx.get(f"{server_a.url}/admin/reload").status_code == 405


def test_a_rollback_with_notify_is_followed(
    swap_project: Project,
    server_a: Server,
    rows: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tabship.models.cli import main

    served = _served_version(server_a, rows[0])
    previous = _version(swap_project, "previous")
    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", TOKEN)
    command = ["--project", str(swap_project.root), "rollback", "--json"]
    assert main([*command, "--notify", server_a.url]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["champion"], document["previous"]) == (previous, served)
    assert document["service"]["status"] == "reloaded"
    assert document["service"]["model_version"] == previous
    both = {served: 0.0, previous: 1.0}
    _wait_for(lambda: _model_info(server_a) == both, 10, "both workers rolled back")
    assert {_served_version(server_a, rows[i]) for i in range(CONCURRENCY)} == {previous}

    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", "wrong")
    assert main([*command, "--notify", server_a.url]) == 1  # the registry moves, the service not
    captured = capsys.readouterr()
    assert "did not reload" in captured.err and "401" in captured.err
    assert _version(swap_project, CHAMPION) == served
    assert _served_version(server_a, rows[0]) == previous
    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", TOKEN)
    assert main([*command, "--notify", f"{server_a.url}/admin/reload"]) == 0  # back to PREVIOUS
    assert json.loads(capsys.readouterr().out)["service"]["model_version"] == previous


@dataclass(frozen=True)
class Shadowed:
    server: Server
    project: Project
    champion: str  # store tags at the start
    challenger: str


@pytest.fixture(scope="module")
def server_b(swap_project: Project) -> Iterator[Shadowed]:
    """Shadow mode and the registry watch; the challenger is the registry's `previous`."""
    from tabship.serving.cli import shadow_env
    from tabship.serving.modelstore import store_champion

    registry = _registry(swap_project)
    registry.client.set_registered_model_alias(
        registry.name, CHALLENGER, _version(swap_project, "previous")
    )
    config = _serving_config(
        swap_project.root, "serving-b", workers=1, shadow=True, reload_watch_seconds=1.0
    )
    settings = {"TABSHIP_SERVING_CONFIG": str(config)}
    extra = {**settings, **shadow_env(swap_project.home, None, settings)}  # as `serve` does
    tag = store_champion(swap_project.home).tag
    base = swap_project.log_path.parent
    home = own_home(base / "bentoml-b", tag, extra["TABSHIP_CHALLENGER_TAG"])
    project = replace(swap_project, tag=tag, bentoml_home=home, log_path=base / "monitoring-b")
    running = start_server(project, extra=extra)
    yield Shadowed(running, project, project.tag, extra["TABSHIP_CHALLENGER_TAG"])
    stop_server(running.process)


def _shadow_lines(log_path: Path) -> pd.DataFrame:
    folder = log_path / "tabship-adult" / "tabship_shadow" / "data"
    lines = [
        json.loads(line)
        for path in sorted(folder.glob("data.*.log*"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    columns = ["prediction_id", "score", "label", "model_version", "champion_version"]
    return pd.DataFrame(lines) if lines else pd.DataFrame(columns=columns)


def test_b_shadow_mode_logs_the_challenger_and_never_answers_with_it(
    server_b: Shadowed, capsys: pytest.CaptureFixture[str]
) -> None:
    from tabship.models.cli import main

    project, url = server_b.project, server_b.server.url
    fields = _fields(project)
    champion = load_scorer(server_b.champion, fields)
    challenger = load_scorer(server_b.challenger, fields)
    assert champion.version != challenger.version
    frame = project.holdout().head(400)
    sent = records(frame, [f.name for f in fields])
    ids, probabilities, versions = [], [], set()
    with httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, 300, 50):  # /predict: the shadow runs as a background task
            document = client.post("/predict", json={"records": sent[start : start + 50]}).json()
            versions.add(document["model_version"])
            for p in document["predictions"]:
                ids.append(p["prediction_id"])
                probabilities.append(p["probability"])
        for record in sent[300:]:  # /predict_one: the shadow runs after the route answers
            [p] = client.post("/predict_one", json={"records": [record]}).json()
            versions.add(p["model_version"])
            ids.append(p["prediction_id"])
            probabilities.append(p["probability"])
    # The answers are the champion's, to the last digit: the challenger changes nothing.
    assert versions == {champion.version}
    expected = champion.score_records(sent).probability
    assert np.array_equal(np.asarray(probabilities), expected)

    _wait_for(lambda: len(_shadow_lines(project.log_path)) >= 400, 15, "400 shadow lines")
    shadow = _shadow_lines(project.log_path).set_index("prediction_id")
    assert len(shadow) == 400 and set(shadow.index) == set(ids)
    assert set(shadow["model_version"]) == {challenger.version}
    assert set(shadow["champion_version"]) == {champion.version}
    theirs = challenger.score_records(sent).probability
    assert np.array_equal(shadow.loc[ids, "score"].to_numpy(np.float64), theirs)
    # The champion's own log is whole: the shadow log is a file of its own.
    _wait_for(
        lambda: set(ids) <= set(read_log(project.log_path, "tabship-adult")["prediction_id"]),
        15,
        "the champion's rows in the prediction log",
    )

    # Labels arrive; the monitor compares the two models live on the same rows.
    labels = project.root / "monitoring" / "tabship-adult" / "labels"
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
    served = _served_version(server, rows[0])
    registry = _registry(project)
    restored, _ = registry.rollback()  # no --notify: the watch must see it
    assert restored.version != served
    _wait_for(lambda: _served_version(server, rows[0]) == restored.version, 20, "rollback seen")
    # The challenger was the restored champion: pointed elsewhere, the watch reloads it too.
    registry.client.set_registered_model_alias(registry.name, CHALLENGER, served)

    def shadowed_by_new_challenger() -> bool:
        answer = httpx.post(f"{server.url}/predict_one", json={"records": [rows[1]]}, timeout=30)
        [prediction] = answer.json()
        time.sleep(0.2)  # the shadow line is written after the answer
        lines = _shadow_lines(project.log_path)
        line = lines[lines["prediction_id"] == prediction["prediction_id"]]
        return len(line) == 1 and list(line["model_version"]) == [served]

    _wait_for(shadowed_by_new_challenger, 20, "the new challenger shadowed")


def test_a_champion_with_other_request_fields_is_refused_and_the_old_one_serves(
    swap_project: Project, server_a: Server, server_b: Shadowed, rows: list[dict[str, Any]]
) -> None:
    served_a = _served_version(server_a, rows[0])
    served_b = _served_version(server_b.server, rows[0])
    schema = swap_project.root / "configs" / "datasets" / "adult" / "schema.yaml"
    text = schema.read_text(encoding="utf-8")
    # age's upper bound moves: a new dataset version, whose models take other request fields.
    schema.write_text(text.replace("max_value: 120", "max_value: 110", 1), encoding="utf-8")
    new = _retrain(swap_project)
    assert new not in (served_a, served_b)

    refused = _reload(server_a)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "schema_changed"
    assert "changed age" in body["message"] and "restart" in body["message"]
    assert f"version {served_a} serves on" in body["message"]
    assert _served_version(server_a, rows[0]) == served_a
    assert _model_info(server_a)[served_a] == 1.0
    # B's watch meets the same champion, refuses it the same way, and serves on.
    log = swap_project.log_path.parent / f"server-{server_b.server.url.rsplit(':', 1)[1]}.log"
    _wait_for(lambda: "other request fields" in log.read_text(encoding="utf-8"), 20, "B refuses")
    assert _served_version(server_b.server, rows[0]) == served_b
