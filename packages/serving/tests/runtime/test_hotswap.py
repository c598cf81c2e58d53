"""The service follows the champion, on real `bentoml serve` processes over one small project.

Server A (two workers, a reload token, no watch): a reload under concurrency-16 traffic, the
401, a rollback followed through `tabship-models rollback --notify`. Last, a champion with other
request fields: server A's reload and server B's registry watch (conftest.py's server_b) both
refuse it and serve on. Server B's shadow mode and its watch have test_hotswap_shadow.py.

The tests share the project (conftest.py's swap_project, one per module), its registry and the
servers (module fixtures: each server start and each training costs seconds), so they run in file
order; each reads the registry's state rather than assuming it, and the test that changes the
request schema comes last.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pandas as pd
import pytest

from tabship.models import CHAMPION
from tabship.serving.runtime.predictlog import read_log

from ..conftest import (
    Project,
    Server,
    Shadowed,
    alias_version,
    retrain_with,
    served_version,
    serving_config,
    start_server,
    stop_server,
    wait_for,
)

TOKEN = "reload-secret"
CONCURRENCY = 16


def _reload(server: Server, token: str | None = TOKEN) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.url}/admin/reload", headers=headers, timeout=60)


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
def server_a(swap_project: Project) -> Iterator[Server]:
    config = serving_config(swap_project.root, "serving-a", workers=2)
    # The reload token as a mounted secret: a file named by TABSHIP_RELOAD_TOKEN_FILE.
    secret = swap_project.root / "reload-token"
    secret.write_text(f"{TOKEN}\n", encoding="utf-8")
    secret.chmod(0o600)
    extra = {"TABSHIP_SERVING_CONFIG": str(config), "TABSHIP_RELOAD_TOKEN_FILE": str(secret)}
    running = start_server(swap_project, extra=extra)
    yield running
    stop_server(running.process)


def test_a_reload_under_load_swaps_every_worker_with_no_failed_request(
    swap_project: Project, server_a: Server, rows: list[dict[str, Any]]
) -> None:
    old = served_version(server_a, rows[0])
    assert old == alias_version(swap_project, CHAMPION)
    new = retrain_with(swap_project, seed=7)
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
    wait_for(lambda: _model_info(server_a) == {old: 0.0, new: 1.0}, 10, "both workers swapped")
    fresh = {served_version(server_a, rows[i]) for i in range(2 * CONCURRENCY)}
    assert fresh == {new}

    # The prediction log records, for every row, the version that answered it.
    answered = {i: a.version for a in traffic.answers for i in a.ids}

    def logged() -> pd.DataFrame:
        return read_log(server_a.log_path, "tabship-adult")

    wait_for(lambda: set(answered) <= set(logged()["prediction_id"]), 10, "every row logged")
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

    served = served_version(server_a, rows[0])
    previous = alias_version(swap_project, "previous")
    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", TOKEN)
    command = ["--project", str(swap_project.root), "rollback", "--json"]
    assert main([*command, "--notify", server_a.url]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["champion"], document["previous"]) == (previous, served)
    assert document["service"]["status"] == "reloaded"
    assert document["service"]["model_version"] == previous
    both = {served: 0.0, previous: 1.0}
    wait_for(lambda: _model_info(server_a) == both, 10, "both workers rolled back")
    assert {served_version(server_a, rows[i]) for i in range(CONCURRENCY)} == {previous}

    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", "wrong")
    assert main([*command, "--notify", server_a.url]) == 1  # the registry moves, the service not
    captured = capsys.readouterr()
    assert "did not reload" in captured.err and "401" in captured.err
    assert alias_version(swap_project, CHAMPION) == served
    assert served_version(server_a, rows[0]) == previous
    monkeypatch.setenv("TABSHIP_RELOAD_TOKEN", TOKEN)
    assert main([*command, "--notify", f"{server_a.url}/admin/reload"]) == 0  # back to PREVIOUS
    assert json.loads(capsys.readouterr().out)["service"]["model_version"] == previous


def test_a_champion_with_other_request_fields_is_refused_and_the_old_one_serves(
    swap_project: Project, server_a: Server, server_b: Shadowed, rows: list[dict[str, Any]]
) -> None:
    served_a = served_version(server_a, rows[0])
    served_b = served_version(server_b.server, rows[0])
    schema = swap_project.root / "configs" / "datasets" / "adult" / "schema.yaml"
    text = schema.read_text(encoding="utf-8")
    # age's upper bound moves: a new dataset version, whose models take other request fields.
    schema.write_text(text.replace("max_value: 120", "max_value: 110", 1), encoding="utf-8")
    new = retrain_with(swap_project)
    assert new not in (served_a, served_b)

    refused = _reload(server_a)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "schema_changed"
    assert "changed age" in body["message"] and "restart" in body["message"]
    assert f"version {served_a} serves on" in body["message"]
    assert served_version(server_a, rows[0]) == served_a
    assert _model_info(server_a)[served_a] == 1.0
    # B's watch meets the same champion, refuses it the same way, and serves on.
    log = swap_project.log_path.parent / f"server-{server_b.server.url.rsplit(':', 1)[1]}.log"
    wait_for(lambda: "other request fields" in log.read_text(encoding="utf-8"), 20, "B refuses")
    assert served_version(server_b.server, rows[0]) == served_b
