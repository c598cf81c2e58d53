"""The alert rules' unit tests (rules_test.yml) pass under `promtool test rules`, and they show
every alert of configs/monitoring/rules both firing and not firing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def test_promtool_unit_tests_pass(tool: Callable[[str], str]) -> None:
    done = subprocess.run(
        [tool("promtool"), "test", "rules", "rules_test.yml"],
        cwd=HERE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_every_alert_is_shown_firing_and_not_firing(configs: Path) -> None:
    groups = yaml.safe_load((configs / "rules" / "alerts.yml").read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    cases = yaml.safe_load((HERE / "rules_test.yml").read_text())["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - firing == set(), "never shown firing"
    assert alerts - quiet == set(), "never shown not firing"
    assert (firing | quiet) <= alerts, "a test names an alert that does not exist"
