"""configs/monitoring checked by the real tools: promtool for Prometheus's configuration and
rules, amtool for Alertmanager's (rendered, as at start), and its routes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from tabship_dev import alertmanager_config
from tabship_dev.workspace import ToolError

from tabship.serving.web.boundedmetrics import INFRASTRUCTURE, OTHER

WEBHOOK = "http://127.0.0.1:9/retrain"


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_prometheus_config_and_its_rule_files_are_valid(
    tool: Callable[[str], str], configs: Path
) -> None:
    done = run(tool("promtool"), "check", "config", str(configs / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rule files found" in done.stdout


def test_rule_files_are_valid(tool: Callable[[str], str], configs: Path) -> None:
    rules = sorted(str(p) for p in (configs / "rules").glob("*.yml"))
    done = run(tool("promtool"), "check", "rules", *rules)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alertmanager_needs_rendering_and_then_is_valid(
    tool: Callable[[str], str], configs: Path, tmp_path: Path,
    alertmanager_env: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    # As committed, the placeholder is no URL: 0.25 does not expand it, so it must be rendered.
    raw = run(tool("amtool"), "check-config", str(configs / "alertmanager.yml"))
    assert raw.returncode != 0
    assert "unsupported scheme" in raw.stdout + raw.stderr
    env = alertmanager_env(tmp_path, WEBHOOK)
    rendered = alertmanager_config.write(tmp_path / "am.yml", env)
    done = run(tool("amtool"), "check-config", str(rendered))
    assert done.returncode == 0, done.stdout + done.stderr
    (hook,) = yaml.safe_load(rendered.read_text())["receivers"][2]["webhook_configs"]
    assert hook["url"] == WEBHOOK
    assert hook["http_config"]["authorization"] == {
        "type": "Bearer", "credentials_file": env["TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=page"], "page"),
        (["severity=ticket"], "ticket"),
        (["severity=ticket", "action=retrain"], "retrain,ticket"),
        (["severity=page", "action=retrain"], "retrain,page"),
        (["alertname=Unknown"], "ticket"),  # nothing is dropped for lack of a severity
    ],
)
def test_alertmanager_routes_by_severity_and_sends_retrain_alerts_to_the_webhook(
    tool: Callable[[str], str], tmp_path: Path, labels: list[str], receivers: str,
    alertmanager_env: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    config = alertmanager_config.write(tmp_path / "am.yml", alertmanager_env(tmp_path, WEBHOOK))
    done = run(tool("amtool"), "config", "routes", "test", f"--config.file={config}", *labels)
    assert done.stdout.strip() == receivers, done.stdout + done.stderr


@pytest.mark.parametrize("value", ["", "ftp://host/x", "http://host/a b", 'http://h/"x'])
def test_rendering_refuses_a_missing_or_malformed_url(value: str) -> None:
    text = 'url: "${TABSHIP_RETRAIN_WEBHOOK_URL}"\n'
    with pytest.raises(ToolError, match="TABSHIP_RETRAIN_WEBHOOK_URL"):
        alertmanager_config.render(text, {"TABSHIP_RETRAIN_WEBHOOK_URL": value} if value else {})


@pytest.mark.parametrize("value", ["", "relative/token", "/no/such/token-file", "/a b"])
def test_rendering_refuses_a_missing_or_malformed_token_file(value: str) -> None:
    text = 'credentials_file: "${TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE}"\n'
    env = {"TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE": value} if value else {}
    with pytest.raises(ToolError, match="TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE"):
        alertmanager_config.render(text, env)


def test_rendering_refuses_a_placeholder_it_does_not_know() -> None:
    with pytest.raises(ToolError, match="TABSHIP_OTHER"):
        alertmanager_config.render('x: "${TABSHIP_OTHER}"\n', {"TABSHIP_OTHER": "http://h/x"})


def test_every_alert_has_a_severity_and_annotations_with_its_value(configs: Path) -> None:
    groups = yaml.safe_load((configs / "rules" / "alerts.yml").read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"] if "alert" in rule]
    assert len(alerts) >= 10
    for alert in alerts:
        assert alert["labels"]["severity"] in {"page", "ticket"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        assert "$value" in alert["annotations"]["description"], alert["alert"]


def test_the_endpoint_relabeling_keeps_every_path_the_service_labels(configs: Path) -> None:
    config = yaml.safe_load((configs / "prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "tabship-serving"]
    known = set(job["metric_relabel_configs"][0]["regex"].split("|"))
    api = {"/predict", "/predict_one", "/explain", "/predict_columns"}
    assert {*api, *INFRASTRUCTURE, OTHER} <= known  # BentoML's request metrics
    assert {path.lstrip("/") for path in api} <= known  # tabship's own: no slash
