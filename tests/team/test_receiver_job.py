"""The retraining receiver against the team stack: an alert as Alertmanager posts it starts the
receiver's local job, a retrain, whose challenger lands in the server's registry."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tabship_dev import processes

BIN = Path(sys.executable).parent
MODEL = "received-adult"
TOKEN = "receiver-token"


def _webhook(labels: dict[str, str]) -> bytes:
    """A firing alert in Alertmanager's webhook format (version 4)."""
    return json.dumps({
        "version": "4", "status": "firing", "receiver": "retrain", "truncatedAlerts": 0,
        "groupKey": '{}:{alertname="TabshipFeatureDrift"}', "externalURL": "http://alertmanager",
        "groupLabels": {"alertname": labels["alertname"]}, "commonLabels": labels,
        "commonAnnotations": {}, "alerts": [{
            "status": "firing", "labels": labels, "annotations": {"summary": "test"},
            "startsAt": "2026-12-06T07:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "", "fingerprint": "0123456789abcdef",
        }],
    }).encode()  # fmt: skip


def _history(root: Path) -> list[dict[str, Any]]:
    path = root / "artifacts" / "retrain" / MODEL / "history.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def test_an_alert_runs_the_local_retrain_against_the_server(
    team_env: dict[str, str], tmp_path: Path, team_project: Callable[[Path, str], Path]
) -> None:
    root = team_project(tmp_path / "a", MODEL)
    trained = subprocess.run(
        [str(BIN / "tabship-models"), "train", "--json"], env=team_env, cwd=root,
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    config_path = root / "configs" / "receiver.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["local"]["command"] = [
        str(BIN / "tabship-models"), "retrain", "--trigger", "{trigger}", "--dataset",
        "{dataset}", "--force",
    ]  # fmt: skip
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    port = processes.free_port()
    receiver = processes.start(
        [str(BIN / "tabship-models"), "receive", "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz", tmp_path / "receiver.log",
        env={**team_env, "TABSHIP_RECEIVER_TOKEN": TOKEN}, cwd=root,
    )  # fmt: skip
    try:
        labels = {"alertname": "TabshipFeatureDrift", "severity": "ticket", "action": "retrain",
                  "model_name": MODEL, "feature": "age", "job": "tabship_monitor"}  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/alerts", data=_webhook(labels), method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status in {200, 202}
        (ran,) = processes.wait_until(lambda: _history(root), "the receiver's retrain", timeout=300)
    finally:
        processes.stop(receiver)
    print("received:", ran["status"], ran.get("reasons"))
    assert ran["trigger"] == "drift" and ran["status"] in {"promoted", "refused"}

    listed = subprocess.run(
        [str(BIN / "tabship-models"), "versions", "--json"], env=team_env, cwd=root,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-2000:]
    versions = json.loads(listed.stdout)["versions"]
    assert str(ran["challenger"]) in {str(row["version"]) for row in versions}
