"""The stack for real on loopback ports: the service's live /metrics passes `promtool check
metrics`; traffic reaches Prometheus and its recording rules; a drift gauge pushed above its
threshold (with the window-size gauges, as the monitor job pushes them) becomes an alert in
Alertmanager and reaches the retraining webhook."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from tabship_dev.processes import wait_until

from tabship.models.monitoring import gauges as mm

MODEL = "tabship-adult"
BIN = Path(sys.executable).parent


def fetch(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:  # a 4xx is part of the traffic sent
        return {"status": error.code}


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    """The instant vector EXPR evaluates to now."""
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    result: list[dict[str, Any]] = fetch(url)["data"]["result"]
    return result


def test_live_metrics_pass_promtool_check_metrics(served: str, tool: Callable[[str], str]) -> None:
    with urllib.request.urlopen(f"{served}/metrics", timeout=10) as answer:
        page = answer.read()
    done = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=page, capture_output=True, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()
    assert b"tabship_model_info" in page


def push_drift(gateway: str) -> None:
    """What the monitor job pushes after a window with drift in `age` only."""
    registry = CollectorRegistry()
    psi = Gauge(mm.DRIFT_PSI, "PSI", ["feature"], registry=registry)
    psi.labels(feature="age").set(0.4)
    psi.labels(feature="education").set(0.05)
    alarm = Gauge(mm.DRIFT_ALARM, "flagged", ["feature"], registry=registry)
    alarm.labels(feature="age").set(1)
    alarm.labels(feature="education").set(0)
    for name, value in [
        (mm.DRIFT_PSI_THRESHOLD, 0.2), (mm.WINDOW_ROWS, 5000), (mm.WINDOW_MIN_ROWS, 1000),
        (mm.DRIFT_FEATURES_ALARMED, 1), (mm.FAILED, 0),
    ]:  # fmt: skip
        Gauge(name, name, registry=registry).set(value)
    push_to_gateway(gateway, job=mm.JOB, registry=registry, grouping_key={"model_name": MODEL})


def test_traffic_and_a_drift_alert_go_through_the_stack(
    stack: dict[str, str], webhook: tuple[str, Any]
) -> None:
    service, prometheus = stack["service"], stack["prometheus"]
    document = fetch(f"{service}/docs.json")
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    for _ in range(5):
        assert fetch(f"{service}/predict", body["example"])["predictions"]
    assert fetch(f"{service}/predict", {"records": []})["status"] == 422

    served = 'bentoml_service_request_total{job="tabship-serving", endpoint="/predict"}'
    wait_until(lambda: sum(float(s["value"][1]) for s in query(prometheus, served)) >= 6,
               "Prometheus to scrape the 6 requests")  # fmt: skip
    (info,) = query(prometheus, "tabship_model_info")
    assert info["metric"]["model_name"] == MODEL
    assert query(prometheus, 'tabship_records_scored_total{endpoint="predict"}')
    # A recording rule over the scraped counters: requests per second to the API, above 0.
    wait_until(lambda: query(prometheus, "job:tabship_api_requests:rate5m > 0"),
               "the recording rule job:tabship_api_requests:rate5m")  # fmt: skip

    push_drift(stack["pushgateway"].removeprefix("http://"))
    matcher = urllib.parse.quote('alertname="TabshipFeatureDrift"')
    alerts_url = f"{stack['alertmanager']}/api/v2/alerts?filter={matcher}"
    alerts = wait_until(
        lambda: [a for a in fetch(alerts_url) if a["labels"]["feature"] == "age"],
        "TabshipFeatureDrift for age in Alertmanager",
    )  # fmt: skip
    features = {a["labels"]["feature"] for a in fetch(alerts_url)}
    assert "education" not in features  # pushed, but not flagged
    (alert,) = alerts
    assert alert["labels"]["severity"] == "ticket"
    assert alert["labels"]["action"] == "retrain"
    assert alert["labels"]["model_name"] == MODEL
    assert "0.400" in alert["annotations"]["description"]
    assert "retrain" in [r["name"] for r in alert["receivers"]]

    _, recorder = webhook
    posted = wait_until(
        lambda: [a for hook in recorder.requests for a in hook.json()["alerts"]
                 if a["labels"]["alertname"] == "TabshipFeatureDrift"
                 and a["labels"].get("feature") == "age"],
        "the retraining webhook to receive the drift alert for age",
    )  # fmt: skip
    assert posted[0]["labels"]["model_name"] == MODEL


def test_the_monitor_job_s_own_push_raises_drift_alerts_for_the_shifted_features(
    stack: dict[str, str], served_project: tuple[Path, dict[str, str]]
) -> None:
    """Shifted traffic through the service, then `tabship-models monitor --pushgateway`: its
    gauges reach Prometheus, and Alertmanager gets a drift alert for each shifted feature. The
    1,000 rows are the small project's whole holdout, each once: drawn with replacement, repeated
    rows would make the window look less like the reference than its rows are."""
    root, env = served_project

    def run(*command: str) -> str:
        done = subprocess.run(
            [str(BIN / command[0]), *command[1:]],
            env=env, cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("tabship-serving", "simulate", "--url", stack["service"], "--rows", "1000", "--seed", "3",
        "--offset", "hours-per-week=1", "--move", "workclass:Private>Self-emp-inc=0.15")  # fmt: skip
    report = json.loads(run("tabship-models", "monitor", "--json", "--no-plots",
                            "--pushgateway", stack["pushgateway"]))  # fmt: skip
    shifted = {"hours-per-week", "workclass"}
    assert shifted <= set(report["drift"]["drifted"]) <= shifted | {mm.SCORE_FEATURE}
    alarm = f'{mm.DRIFT_ALARM}{{model_name="{MODEL}"}} == 1'
    flagged = wait_until(
        lambda: {s["metric"]["feature"] for s in query(stack["prometheus"], alarm)} - {"age"},
        "the monitor's alarms in Prometheus",
    )  # fmt: skip
    assert flagged == set(report["drift"]["drifted"])
    matcher = urllib.parse.quote('alertname="TabshipFeatureDrift"')
    alerts_url = f"{stack['alertmanager']}/api/v2/alerts?active=true&filter={matcher}"
    alerting = wait_until(
        lambda: shifted <= {a["labels"]["feature"] for a in fetch(alerts_url)},
        "drift alerts for both shifted features",
    )  # fmt: skip
    assert alerting
