"""The Grafana dashboards (configs/monitoring/dashboards/*.json): current with their generator,
linted (templated data source, a unit and a description on every panel, `$__rate_interval`),
every expression parsed by promtool, and every metric they or the rules name really exported
by the service, the monitor job (through a real Pushgateway) or Prometheus itself."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from tabship_dev import dashboards
from tabship_dev.processes import wait_until

from tabship.models.monitoring import gauges as mm

# Sample values for Grafana's variables, so that promtool can parse the expressions.
VARIABLES = {
    "__rate_interval": "5m", "__interval": "1m", "__range": "1h",
    "instance": ".*", "model_name": "tabship-adult", "feature": ".*",
}  # fmt: skip
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan"}  # fmt: skip


def boards(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from board["panels"]


def expressions(board: dict[str, Any]) -> Iterator[str]:
    for panel in panels(board):
        for target in panel["targets"]:
            yield substitute(target["expr"])


def substitute(expr: str) -> str:
    """EXPR with each $name and ${name} replaced by its sample value."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: VARIABLES[m.group(1)], expr)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not functions, keywords,
    label names or parts of strings, numbers or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    found = re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()", text)
    return {name for name in found if name.lower() not in KEYWORDS}


def test_metric_names_reads_names_only() -> None:
    expr = ('sum by (job, le) (rate(a_total{endpoint=~"/x|y"}[5m])) / on (job) b:c:d '
            "> 1e3 * 14.4 and time() - push_time_seconds offset 5m")  # fmt: skip
    assert metric_names(expr) == {"a_total", "b:c:d", "push_time_seconds"}


def test_committed_dashboards_match_their_generator(configs: Path) -> None:
    assert dashboards.stale(configs / "dashboards") == [], "run: python -m tabship_dev dashboards"
    assert set(boards(configs / "dashboards")) == set(dashboards.BUILDERS)


def test_every_panel_is_templated_with_a_unit_and_a_description(configs: Path) -> None:
    for name, board in boards(configs / "dashboards").items():
        variables = board["templating"]["list"]
        assert variables[0]["type"] == "datasource", name
        assert variables[0]["query"] == "prometheus", name
        for panel in panels(board):
            where = f"{name}: {panel['title']}"
            assert panel["fieldConfig"]["defaults"]["unit"], where
            assert panel["description"], where
            assert panel["datasource"]["uid"] == "${datasource}", where
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", where
                ranges = re.findall(r"\[([^\]]+)\]", target["expr"])
                assert all(r == "$__rate_interval" for r in ranges), where


def test_every_dashboard_expression_parses(
    tool: Callable[[str], str], configs: Path, tmp_path: Path
) -> None:
    rules = [
        {"record": f"dashboard:check:{i}", "expr": expr}
        for i, expr in enumerate(e for b in boards(configs / "dashboards").values()
                                 for e in expressions(b))
    ]  # fmt: skip
    path = tmp_path / "dashboard_expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = subprocess.run(
        [tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(rules) > 20


def push_every_monitor_gauge(gateway: str) -> None:
    """One full set of the monitor job's gauges, with values that alert on nothing."""
    registry = CollectorRegistry()
    for name in mm.all_names():
        labels = ["feature"] if name in (mm.DRIFT_PSI, mm.DRIFT_ALARM) else []
        gauge = Gauge(name, "test", labels, registry=registry)
        if labels:
            gauge.labels(feature="age").set(0.01 if name == mm.DRIFT_PSI else 0)
        elif name == mm.LAST_SUCCESS:
            gauge.set(time.time())
        else:
            gauge.set(0.9 if "accuracy" in name or "roc_auc" in name else 1)
    push_to_gateway(gateway, job=mm.JOB, registry=registry,
                    grouping_key={"model_name": "dashboard-check"})  # fmt: skip


def predict_once(service: str) -> None:
    """One /predict request with the example of the service's own OpenAPI document."""
    with urllib.request.urlopen(f"{service}/docs.json", timeout=10) as answer:
        document = json.loads(answer.read())
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    request = urllib.request.Request(
        f"{service}/predict", data=json.dumps(body["example"]).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200


def scraped_names(url: str) -> set[str]:
    """Metric names in a /metrics page (histogram and counter series as they are stored)."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        lines = answer.read().decode().splitlines()
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in lines if line and line[0] != "#"}


def test_dashboards_and_rules_name_only_exported_metrics(
    stack: dict[str, str], configs: Path
) -> None:
    push_every_monitor_gauge(stack["pushgateway"].removeprefix("http://"))
    predict_once(stack["service"])  # the score and record series appear with the first request
    exported = scraped_names(f"{stack['service']}/metrics")
    gateway = scraped_names(f"{stack['pushgateway']}/metrics")
    assert set(mm.all_names()) <= gateway
    exported |= gateway | scraped_names(f"{stack['prometheus']}/metrics")

    def stored() -> set[str] | None:  # up, ALERTS...: series Prometheus makes itself
        with urllib.request.urlopen(f"{stack['prometheus']}/api/v1/label/__name__/values") as a:
            names = set(json.loads(a.read())["data"])
        return names if {"up", "ALERTS"} <= names else None

    exported |= wait_until(stored, "Prometheus to store up and ALERTS")
    rule_files = sorted((configs / "rules").glob("*.yml"))
    rules = [r for p in rule_files for g in yaml.safe_load(p.read_text())["groups"]
             for r in g["rules"]]  # fmt: skip
    recorded = {rule["record"] for rule in rules if "record" in rule}
    named = {n for b in boards(configs / "dashboards").values() for e in expressions(b)
             for n in metric_names(e)}  # fmt: skip
    named |= {n for rule in rules for n in metric_names(rule["expr"])}
    assert named - exported - recorded == set()
