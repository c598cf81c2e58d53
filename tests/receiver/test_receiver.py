"""The retraining receiver with a real Alertmanager on loopback: Alertmanager's own notifications
(bearer token from its credentials_file) reach the receiver, which starts the retrain pipeline
through stand-ins for GitLab, GitHub and Jenkins that record each request, or as a local job.

The stand-ins check what each API documents: GitLab's pipeline trigger API (a form with token,
ref and variables[NAME]), GitHub's repository_dispatch (JSON event_type and client_payload, the
Accept, API version and bearer headers), Jenkins' buildWithParameters (a form of parameters,
basic auth with a user's API token).

`tabship-models receive` itself, from the committed configs, is test_receiver_command.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tabship_dev import processes

from tabship.models.receiver.auth import SIGNATURE_HEADER, sign
from tabship.models.receiver.config import ReceiverConfig, receiver_config_from_dict
from tabship.models.receiver.dispatch import make_dispatcher
from tabship.models.receiver.server import Receiver, make_server

from .alerts import DRIFT, JOB, TOKEN, fire, post

REPO = Path(__file__).resolve().parents[2]
SECRET = "receiver-hmac-secret"
DATASETS = {"tabship-adult": "adult"}
ENV = {"RECEIVER_TOKEN": TOKEN, "RECEIVER_SECRET": SECRET, "CI_TOKEN": "ci-secret-token"}


def config(mode: str, settings: dict[str, Any], **top: Any) -> ReceiverConfig:
    raw = {"auth": {"bearer_token": {"env": "RECEIVER_TOKEN"}, "hmac_secret": {"env": "RECEIVER_SECRET"}},
           "mode": mode, mode: settings, **top}  # fmt: skip
    return receiver_config_from_dict(raw, "test", REPO, ENV)


@pytest.fixture
def receiving() -> Iterator[Callable[[ReceiverConfig], tuple[str, Receiver]]]:
    """Start an in-process receiver for a config: (webhook URL, receiver)."""
    started: list[tuple[Any, Receiver]] = []

    def start(chosen: ReceiverConfig) -> tuple[str, Receiver]:
        receiver = Receiver(chosen, DATASETS, make_dispatcher(chosen))
        server = make_server(receiver, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append((server, receiver))
        return f"http://127.0.0.1:{server.server_address[1]}{chosen.path}", receiver

    yield start
    for server, receiver in started:
        server.shutdown()
        server.server_close()
        receiver.queue.stop()


@pytest.fixture(scope="module")
def notification(
    tmp_path_factory: pytest.TempPathFactory,
    recorder: Callable[..., Any],
    alertmanager_at: Callable[..., subprocess.Popen[bytes]],
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a real notification, a drift alert as Alertmanager posts it; the
    headers are its Authorization and Content-Type."""
    hook = recorder()
    port = processes.free_port()
    folder = tmp_path_factory.mktemp("am-capture")
    process = alertmanager_at(folder, f"{hook.url}/alerts", port, TOKEN)
    try:
        fire(f"http://127.0.0.1:{port}", DRIFT)
        (sent,) = processes.wait_until(lambda: hook.requests, "Alertmanager's notification")
    finally:
        processes.stop(process)
    return sent.body, {name: sent.headers[name] for name in ("Authorization", "Content-Type")}


def failed_notifications(alertmanager: str) -> float:
    """Alertmanager's count of webhook notifications that failed (a non-2xx answer)."""
    with urllib.request.urlopen(f"{alertmanager}/metrics", timeout=10) as answer:
        lines = answer.read().decode().splitlines()
    prefix = 'alertmanager_notifications_failed_total{integration="webhook"'
    return sum(float(line.split()[-1]) for line in lines if line.startswith(prefix))


@pytest.mark.parametrize("mode", ["gitlab", "github", "jenkins"])
def test_alertmanager_s_notification_starts_a_pipeline_in_the_api_s_documented_shape(
    mode: str,
    tmp_path: Path,
    recorder: Callable[..., Any],
    receiving: Callable[[ReceiverConfig], tuple[str, Receiver]],
    alertmanager_at: Callable[..., subprocess.Popen[bytes]],
) -> None:
    answers = {
        "gitlab": (201, b'{"id": 42, "web_url": "https://gitlab.example/p/-/pipelines/42"}', {}),
        "github": (204, b"", {}),
        "jenkins": (201, b"", {"Location": "https://jenkins.example/queue/item/7/"}),
    }
    status, body, headers = answers[mode]
    ci = recorder(status, body, headers)
    settings = {
        "gitlab": {"url": ci.url, "project": "tabship/tabship", "ref": "main"},
        "github": {"url": ci.url, "repository": "tabship/tabship"},
        "jenkins": {"url": ci.url, "job": "ml/tabship-retrain", "user": "receiver"},
    }[mode]
    url, receiver = receiving(config(mode, {**settings, "token": {"env": "CI_TOKEN"}}))
    port = processes.free_port()
    alertmanager = f"http://127.0.0.1:{port}"
    process = alertmanager_at(tmp_path, url, port, TOKEN)
    try:
        fire(alertmanager, DRIFT)
        (sent,) = processes.wait_until(lambda: ci.requests, f"the {mode} stand-in's request")
        assert receiver.queue.wait_idle(10)
        assert failed_notifications(alertmanager) == 0  # the receiver took Alertmanager's token
    finally:
        processes.stop(process)

    assert sent.method == "POST"
    variables = {
        "TABSHIP_TRIGGER": "drift", "TABSHIP_DATASET": "adult",
        "TABSHIP_MODEL_NAME": "tabship-adult", "TABSHIP_ALERTS": "TabshipFeatureDrift",
    }  # fmt: skip
    if mode == "gitlab":
        assert sent.path == "/api/v4/projects/tabship%2Ftabship/trigger/pipeline"
        assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert "Authorization" not in sent.headers  # the trigger token travels in the form
        assert sent.form() == {
            "token": "ci-secret-token", "ref": "main",
            **{f"variables[{name}]": value for name, value in variables.items()},
        }  # fmt: skip
    elif mode == "github":
        assert sent.path == "/repos/tabship/tabship/dispatches"
        assert sent.headers["Accept"] == "application/vnd.github+json"
        assert sent.headers["Authorization"] == "Bearer ci-secret-token"
        assert sent.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert sent.headers["Content-Type"] == "application/json"
        assert sent.headers["User-Agent"].startswith("tabship-receiver/")
        document = sent.json()
        assert document["event_type"] == "tabship-retrain"
        payload = document["client_payload"]
        assert len(payload) <= 10  # GitHub's limit on top-level properties
        assert payload["trigger"] == "drift"
        assert payload["dataset"] == "adult"
        assert payload["model_name"] == "tabship-adult"
        assert payload["alerts"] == ["TabshipFeatureDrift"]
        assert 'alertname="TabshipFeatureDrift"' in payload["group_key"]
    else:
        assert sent.path == "/job/ml/job/tabship-retrain/buildWithParameters"
        assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
        login = base64.b64decode(sent.headers["Authorization"].removeprefix("Basic "))
        assert login == b"receiver:ci-secret-token"
        assert sent.form() == variables


def test_only_the_bearer_token_or_a_valid_signature_gets_in(
    notification: tuple[bytes, dict[str, str]],
    recorder: Callable[..., Any],
    receiving: Callable[[ReceiverConfig], tuple[str, Receiver]],
) -> None:
    body, headers = notification
    assert headers["Authorization"] == f"Bearer {TOKEN}"  # Alertmanager read it from the file
    ci = recorder(204)
    github = {"url": ci.url, "repository": "o/r", "token": {"env": "CI_TOKEN"}}
    url, receiver = receiving(config("github", github, dedup_window_seconds=0))
    json_type = {"Content-Type": "application/json"}
    refused = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {SIGNATURE_HEADER: sign(body, b"another-secret")},
        {SIGNATURE_HEADER: sign(body + b" ", SECRET.encode())},  # signed another body
        {SIGNATURE_HEADER: sign(body, SECRET.encode()).split(",")[1]},  # no time: replayable
    ]
    for extra in refused:
        status, answer, _ = post(url, body, {**json_type, **extra})
        assert status == 401, extra
        assert "Bearer" in answer["error"] and SIGNATURE_HEADER in answer["error"]
    for extra in (
        {"Authorization": f"Bearer {TOKEN}"},
        {SIGNATURE_HEADER: sign(body, SECRET.encode())},
    ):
        status, answer, _ = post(url, body, {**json_type, **extra})
        assert status == 202, answer
    assert receiver.queue.wait_idle(10)
    assert len(ci.requests) == 2  # the refused requests started nothing


def test_the_answer_comes_before_a_slow_dispatch_ends(
    notification: tuple[bytes, dict[str, str]],
    recorder: Callable[..., Any],
    receiving: Callable[[ReceiverConfig], tuple[str, Receiver]],
) -> None:
    body, headers = notification
    slow = recorder(201, b'{"id": 1}', delay=3.0)  # GitLab taking 3 s to answer
    url, receiver = receiving(
        config("gitlab", {"url": slow.url, "project": 7, "token": {"env": "CI_TOKEN"}})
    )
    status, answer, seconds = post(url, body, headers)
    assert status == 202
    assert answer["queued"][0]["trigger"] == "drift"
    # The dispatch is still waiting for the slow server when the webhook has its answer.
    assert receiver.queue.pending() == 1
    print(f"\nreceiver answered in {seconds * 1000:.1f} ms while the dispatch took 3 s")
    processes.wait_until(lambda: slow.requests, "the slow stand-in's request")
    assert receiver.queue.wait_idle(10)
    assert receiver.queue.pending() == 0


def test_a_repeated_alert_group_starts_one_pipeline(
    notification: tuple[bytes, dict[str, str]],
    recorder: Callable[..., Any],
    receiving: Callable[[ReceiverConfig], tuple[str, Receiver]],
) -> None:
    body, headers = notification
    ci = recorder(204)
    url, receiver = receiving(
        config("github", {"url": ci.url, "repository": "o/r", "token": {"env": "CI_TOKEN"}})
    )
    answers = [post(url, body, headers)[:2] for _ in range(3)]
    assert [status for status, _ in answers] == [202, 200, 200]
    assert [a["status"] for _, a in answers] == ["queued", "duplicate", "duplicate"]
    # The same group with one more firing alert is news: another pipeline.
    document = json.loads(body)
    joined = {**document["alerts"][0], "fingerprint": "0123456789abcdef",
              "labels": {**document["alerts"][0]["labels"], "feature": "education"}}  # fmt: skip
    grown = json.dumps({**document, "alerts": [*document["alerts"], joined]}).encode()
    assert post(url, grown, headers)[0] == 202
    assert receiver.queue.wait_idle(10)
    assert len(ci.requests) == 2


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"labels": {"alertname": "TabshipSomethingElse", "model_name": "tabship-adult"}}, 422,
         "no trigger"),
        ({"labels": {"alertname": "TabshipFeatureDrift", "model_name": "other-model"}}, 422,
         "no model"),
        ({"status": "resolved"}, 200, "ignored"),
        ({"fingerprint": 7}, 400, "fingerprint"),
    ],
)  # fmt: skip
def test_unknown_resolved_and_malformed_alerts_start_nothing(
    notification: tuple[bytes, dict[str, str]],
    recorder: Callable[..., Any],
    receiving: Callable[[ReceiverConfig], tuple[str, Receiver]],
    change: dict[str, Any],
    status: int,
    words: str,
) -> None:
    body, headers = notification
    ci = recorder(204)
    url, receiver = receiving(
        config("github", {"url": ci.url, "repository": "o/r", "token": {"env": "CI_TOKEN"}})
    )
    document = json.loads(body)
    document["alerts"] = [{**document["alerts"][0], **change}]
    got, answer, _ = post(url, json.dumps(document).encode(), headers)
    assert got == status
    assert words in json.dumps(answer)
    assert post(url, b"not json", headers)[0] == 400
    assert receiver.queue.wait_idle(5)
    assert ci.requests == []


def group(body: bytes, number: int) -> bytes:
    """BODY as another alert group (its own groupKey and fingerprint)."""
    document = json.loads(body)
    document["groupKey"] += f"/{number}"
    document["alerts"][0]["fingerprint"] = f"{number:016x}"
    return json.dumps(document).encode()


def test_local_jobs_run_one_at_a_time_with_one_waiting(
    notification: tuple[bytes, dict[str, str]],
    tmp_path: Path,
    receiving: Callable[[ReceiverConfig], tuple[str, Receiver]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body, headers = notification
    script, record = tmp_path / "job.py", tmp_path / "jobs.jsonl"
    script.write_text(JOB)
    monkeypatch.setenv("JOB_RECORD", str(record))
    monkeypatch.setenv("JOB_SECONDS", "1.5")
    command = [sys.executable, str(script), "--trigger", "{trigger}", "--dataset", "{dataset}"]
    url, receiver = receiving(
        config("local", {"command": command, "cwd": str(tmp_path), "log": str(tmp_path / "log")})
    )
    answers = [post(url, group(body, n), headers)[1]["status"] for n in range(3)]
    # The first runs, the second waits, the third is dropped (the waiting one will see its data).
    assert answers == ["queued", "queued", "dropped"]
    assert receiver.queue.wait_idle(30)
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(runs) == 2
    assert all(run["argv"] == ["--trigger", "drift", "--dataset", "adult"] for run in runs)
    assert all(run["trigger"] == "drift" for run in runs)
    first, second = sorted(runs, key=lambda run: run["started"])
    assert second["started"] >= first["ended"]  # never two at once
    # The dropped group was not remembered: sent again once the jobs are done, it runs.
    monkeypatch.setenv("JOB_SECONDS", "0")
    assert post(url, group(body, 2), headers)[1]["status"] == "queued"
    assert receiver.queue.wait_idle(30)
    assert len(record.read_text().splitlines()) == 3
