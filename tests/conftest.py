"""The fixtures every cross-package test shares, in one place.

- `repo_root`, `git`, `repo_copy`: the repository, and a committed copy of it to plant faults in.
- The monitoring stack on loopback ports (tests/monitoring, tests/receiver, tests/e2e): `tool`
  finds a Prometheus program (fails in CI, skips elsewhere, when it is missing). `served` is the
  service of a small trained project. `stack` adds a Pushgateway, an Alertmanager and a
  Prometheus, each started by tabship_dev.processes on a free port with its storage in a
  temporary folder and stopped by its pid, from test copies of configs/monitoring: 1 s scrape
  and evaluation intervals, every `for:` at 0 s and short Alertmanager waits, so an alert
  arrives within seconds.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml
from tabship_dev import alertmanager_config, processes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def run_git(cwd: Path, *args: str) -> str:
    """Run git in CWD with a fixed identity, and return its output."""
    result = subprocess.run(
        ["git", "-c", "user.name=tabship-test", "-c", "user.email=test@tabship.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@pytest.fixture(scope="session")
def git() -> Callable[..., str]:
    """run_git(cwd, *args), as a fixture: test modules cannot import conftest under importlib mode."""
    return run_git


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A new git repository holding a copy of the project's tracked files, in one commit."""
    copy = tmp_path / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    run_git(copy, "init", "--quiet", "--initial-branch=main")
    run_git(copy, "add", "--all")
    run_git(copy, "commit", "--quiet", "-m", "copy")
    return copy


# The monitoring stack.

REPO = ROOT
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


def render_env(folder: Path, webhook: str, token: str = "test-token") -> dict[str, str]:
    """The variables the Alertmanager template takes: WEBHOOK, and a file in FOLDER with TOKEN."""
    token_file = folder / "retrain-webhook-token"
    token_file.write_text(token + "\n", encoding="utf-8")
    return {
        "TABSHIP_RETRAIN_WEBHOOK_URL": webhook,
        "TABSHIP_RETRAIN_WEBHOOK_TOKEN_FILE": str(token_file),
    }


@pytest.fixture(scope="session")
def alertmanager_env() -> Callable[..., dict[str, str]]:
    """render_env(folder, webhook, token="test-token"), as a fixture."""
    return render_env


def alertmanager_copy(folder: Path, webhook: str, token: str = "test-token") -> Path:
    """alertmanager.yml rendered as at start (the webhook URL and token file from the
    environment), short waits."""
    text = alertmanager_config.render(
        (CONFIGS / "alertmanager.yml").read_text(encoding="utf-8"),
        render_env(folder, webhook, token),
    )
    config = yaml.safe_load(text)
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="0s", group_interval="1s")
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Recorded:
    """One request a Recorder received."""

    method: str
    path: str
    headers: Message  # names are case-insensitive, as in HTTP
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded form (each name once)."""
        return dict(urllib.parse.parse_qsl(self.body.decode(), strict_parsing=True))


class Recorder:
    """A loopback HTTP server that records every request and answers each with STATUS, HEADERS
    and BODY after DELAY seconds: a stand-in for a webhook or a CI server's API."""

    def __init__(
        self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> None:  # fmt: skip
        self.requests: list[Recorded] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                recorder.requests.append(Recorded(
                    "POST", self.path, self.headers, self.rfile.read(length)
                ))  # fmt: skip
                time.sleep(delay)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads what was received."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def recorder() -> Iterator[Callable[..., Recorder]]:
    """Recorder(status, body, headers, delay) servers, each new, closed after the session."""
    made: list[Recorder] = []

    def make(*args: Any, **kwargs: Any) -> Recorder:
        made.append(Recorder(*args, **kwargs))
        return made[-1]

    yield make
    for server in made:
        server.close()


def start_alertmanager(
    folder: Path, webhook: str, port: int, token: str = "test-token"
) -> subprocess.Popen[bytes]:
    """Alertmanager on 127.0.0.1:PORT with alertmanager_copy's config, its data in FOLDER."""
    (folder / "alertmanager-data").mkdir()
    return processes.start(
        [find_tool("prometheus-alertmanager"),
         f"--config.file={alertmanager_copy(folder, webhook, token)}",
         f"--storage.path={folder / 'alertmanager-data'}",
         f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],  # no gossip port: a single, local instance
        f"http://127.0.0.1:{port}/-/ready", folder / "alertmanager.log",
    )  # fmt: skip


@pytest.fixture(scope="session")
def alertmanager_at() -> Callable[..., subprocess.Popen[bytes]]:
    """start_alertmanager(folder, webhook, port, token="test-token"), as a fixture."""
    return start_alertmanager


@pytest.fixture(scope="session")
def webhook() -> Iterator[tuple[str, Recorder]]:
    """(URL, recorder) of a local HTTP server standing in for the retraining trigger."""
    server = Recorder()
    yield f"{server.url}/retrain", server
    server.close()


def start_stack(
    folder: Path, service: str, webhook: str, token: str = "test-token"
) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    """A Pushgateway, an Alertmanager (posting to WEBHOOK with TOKEN) and a Prometheus (scraping
    SERVICE and the gateway) on free ports, their data in FOLDER: (base URLs, processes). The
    caller stops the processes (processes.stop, last first); on a failure here they are stopped."""
    programs = {name: find_tool(name) for name in TOOLS}
    ports = {name: processes.free_port() for name in ("pushgateway", "alertmanager", "prometheus")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    host = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(processes.start(
            # Debian's build persists to /var/lib/prometheus/pushgateway.data by default, and every
            # gateway started later would load the groups an earlier test pushed: its own file.
            [programs["prometheus-pushgateway"], f"--web.listen-address={host['pushgateway']}",
             f"--persistence.file={folder / 'pushgateway.data'}"],
            f"{urls['pushgateway']}/-/ready", folder / "pushgateway.log",
        ))  # fmt: skip
        started.append(start_alertmanager(folder, webhook, ports["alertmanager"], token))
        targets = (service, urls["pushgateway"])
        config = prometheus_copy(
            folder, service.removeprefix("http://"), host["pushgateway"], host["alertmanager"]
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
    except BaseException:
        for process in reversed(started):
            processes.stop(process)
        raise
    return {"service": service, **urls}, started


@pytest.fixture(scope="session")
def stack_at() -> Callable[..., tuple[dict[str, str], list[subprocess.Popen[bytes]]]]:
    """start_stack(folder, service, webhook, token="test-token"), as a fixture."""
    return start_stack


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    served: str,
    webhook: tuple[str, Recorder],
) -> Iterator[dict[str, str]]:
    """Base URLs of the running service, pushgateway, alertmanager and prometheus."""
    urls, started = start_stack(tmp_path_factory.mktemp("stack"), served, webhook[0])
    try:
        yield urls
    finally:
        for process in reversed(started):
            processes.stop(process)
