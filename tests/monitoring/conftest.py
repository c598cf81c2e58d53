"""The monitoring stack on loopback ports, for the tests in this folder (and the next issue's).

`tool` finds a Prometheus program (fails in CI, skips elsewhere, when it is missing). `served` is
the service of a small trained project. `stack` adds a Pushgateway, an Alertmanager and a
Prometheus, each started by tabship_dev.processes on a free port with its storage in a temporary
folder and stopped by its pid, from test copies of configs/monitoring: 1 s scrape and evaluation
intervals, every `for:` at 0 s and short Alertmanager waits, so an alert arrives within seconds.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tabship_dev import alertmanager_config, processes

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "monitoring"
BIN = Path(sys.executable).parent
TOOLS = ("promtool", "amtool", "prometheus", "prometheus-alertmanager", "prometheus-pushgateway")
INSTALL = (
    "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager "
    "prometheus-pushgateway"
)


def find_tool(name: str) -> str:
    """The path of NAME; missing, the test fails in CI (CI=true) and is skipped elsewhere."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed ({INSTALL})"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """find_tool(name), as a fixture (test modules cannot import conftest)."""
    return find_tool


@pytest.fixture(scope="session")
def configs() -> Path:
    """configs/monitoring/ of this checkout."""
    return CONFIGS


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        body: bytes = answer.read()
        return body


@pytest.fixture(scope="session")
def served_project(
    tmp_path_factory: pytest.TempPathFactory, make_small_project: Callable[[Path], Path]
) -> tuple[Path, dict[str, str]]:
    """(root, environment) of a small project whose model is trained, for the commands' runs."""
    folder = tmp_path_factory.mktemp("served")
    root = make_small_project(folder / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env.update(BENTOML_HOME=str(folder / "bentoml"), BENTOML_DO_NOT_TRACK="True")
    trained = subprocess.run(
        [str(BIN / "tabship-models"), "train", "--json"],
        env=env, cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    return root, env


@pytest.fixture(scope="session")
def served(served_project: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """The base URL of `tabship-serving serve` on a free port, serving the small trained model
    (its prediction log goes to the project's monitoring/)."""
    root, env = served_project
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    server = processes.start(
        [str(BIN / "tabship-serving"), "serve", "--port", str(port)], f"{base}/readyz",
        root.parent / "serve.log", env=env, cwd=root,
    )  # fmt: skip
    yield base
    processes.stop(server)


def prometheus_copy(folder: Path, service: str, gateway: str, alertmanager: str) -> Path:
    """prometheus.yml and its rule files for a test: these targets, 1 s intervals, `for: 0s`."""
    config = yaml.safe_load((CONFIGS / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    targets = {"tabship-serving": service, "pushgateway": gateway}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    rule_files = []
    for name in config["rule_files"]:
        rules = yaml.safe_load((CONFIGS / name).read_text(encoding="utf-8"))
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "0s"
        copy = folder / Path(name).name
        copy.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        rule_files.append(str(copy))
    config["rule_files"] = rule_files
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def alertmanager_copy(folder: Path, webhook: str) -> Path:
    """alertmanager.yml rendered as at start (the webhook URL from the environment), short waits."""
    text = alertmanager_config.render(
        (CONFIGS / "alertmanager.yml").read_text(encoding="utf-8"),
        {"TABSHIP_RETRAIN_WEBHOOK_URL": webhook},
    )
    config = yaml.safe_load(text)
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="0s", group_interval="1s")
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


class _Hook(http.server.BaseHTTPRequestHandler):
    """Records each webhook POST's JSON body (the retraining trigger's stand-in)."""

    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what was received."""


@pytest.fixture(scope="session")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(URL, received bodies) of a local HTTP server standing in for the retraining trigger."""
    received: list[dict[str, Any]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/retrain", received
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    served: str,
    webhook: tuple[str, list[dict[str, Any]]],
) -> Iterator[dict[str, str]]:
    """Base URLs of the running service, pushgateway, alertmanager and prometheus."""
    programs = {name: find_tool(name) for name in TOOLS}
    folder = tmp_path_factory.mktemp("stack")
    ports = {name: processes.free_port() for name in ("pushgateway", "alertmanager", "prometheus")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    host = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(processes.start(
            [programs["prometheus-pushgateway"], f"--web.listen-address={host['pushgateway']}"],
            f"{urls['pushgateway']}/-/ready", folder / "pushgateway.log",
        ))  # fmt: skip
        (folder / "alertmanager-data").mkdir()
        started.append(processes.start(
            [programs["prometheus-alertmanager"],
             f"--config.file={alertmanager_copy(folder, webhook[0])}",
             f"--storage.path={folder / 'alertmanager-data'}",
             f"--web.listen-address={host['alertmanager']}",
             "--cluster.listen-address="],  # no gossip port: a single, local instance
            f"{urls['alertmanager']}/-/ready", folder / "alertmanager.log",
        ))  # fmt: skip
        targets = (served, urls["pushgateway"])
        config = prometheus_copy(
            folder, served.removeprefix("http://"), host["pushgateway"], host["alertmanager"]
        )
        started.append(processes.start(
            [programs["prometheus"], f"--config.file={config}",
             f"--storage.tsdb.path={folder / 'prometheus-data'}",
             f"--web.listen-address={host['prometheus']}"],
            f"{urls['prometheus']}/-/ready", folder / "prometheus.log",
        ))  # fmt: skip
        # Traffic sent before the first scrape would be in the first sample, and no rate
        # would ever show it: hand the stack over once both targets have been scraped.
        up = f"{urls['prometheus']}/api/v1/query?query=up%20%3D%3D%201"
        processes.wait_until(
            lambda: len(json.loads(get(up))["data"]["result"]) == len(targets), "both targets up"
        )
        yield {"service": served, **urls}
    finally:
        for process in reversed(started):
            processes.stop(process)
