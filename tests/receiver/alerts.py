"""What the retraining receiver's tests share (test_receiver.py, test_receiver_command.py): the
receiver's bearer token, a drift alert, a local job script, and posting to Alertmanager's API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

TOKEN = "receiver-token"
DRIFT = {
    "alertname": "TabshipFeatureDrift", "severity": "ticket", "action": "retrain",
    "model_name": "tabship-adult", "feature": "age", "job": "tabship_monitor",
}  # fmt: skip
# A script for the local mode: it records its arguments and environment, then sleeps.
JOB = """\
import json, os, sys, time
record = {"argv": sys.argv[1:], "trigger": os.environ.get("TABSHIP_TRIGGER"),
          "started": time.time()}
time.sleep(float(os.environ.get("JOB_SECONDS", "0")))
record["ended"] = time.time()
with open(os.environ["JOB_RECORD"], "a") as out:
    out.write(json.dumps(record) + "\\n")
"""


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any], float]:
    """(status, JSON answer, seconds taken) of a POST."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    return status, json.loads(text) if text else {}, time.perf_counter() - started


def fire(alertmanager: str, *labels: dict[str, str]) -> None:
    """Post alerts straight to Alertmanager's API, as Prometheus does."""
    body = json.dumps([{"labels": one, "annotations": {"summary": "test"}} for one in labels])
    status, _, _ = post(f"{alertmanager}/api/v2/alerts", body.encode(),
                        {"Content-Type": "application/json"})  # fmt: skip
    assert status == 200
