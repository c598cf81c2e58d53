"""The serving image, run by podman exactly as the rendered Deployment runs it (images/pod.py):
ready, unprivileged and read-only; its predictions are the local ones; its log lands on the
volume where the monitor reads it; its HEALTHCHECK passes; a broken image is caught; and it
stops under load without failing a request, within the Deployment's grace period.

The tests share one container and run in file order: the last one stops it.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tabship_dev.images.check import check_serving, free_port, http, served_example
from tabship_dev.images.engine import Podman, podman
from tabship_dev.images.pod import Pod, pod
from tabship_dev.images.settings import ImageError

BIN = Path(sys.executable).parent
TOKEN = secrets.token_urlsafe(24)


def call(url: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
    """GET or POST JSON with the API token; (status, decoded body)."""
    return http(url, body, timeout, token=TOKEN)


@dataclass
class Running:
    engine: Podman
    pod: Pod
    url: str
    process: subprocess.Popen[str]
    name: str  # the container's

    def inspect(self) -> dict[str, Any]:
        text = subprocess.run([*podman(), "inspect", self.name], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
        found: dict[str, Any] = json.loads(text)[0]
        return found

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*podman(), "exec", self.name, *command],
                              capture_output=True, text=True, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def running(
    engine: Podman,
    serving_image: dict[str, Any],
    manifests: list[Any],
    tmp_path_factory: pytest.TempPathFactory,
    containers: SimpleNamespace,
) -> Iterator[Running]:
    """The serving container as the Deployment runs it, on a free loopback port."""
    scratch = tmp_path_factory.mktemp("pod")
    spec = pod(manifests, scratch, {"tabship-serving": {"api-token": TOKEN}})
    port = free_port(prefer=0)
    url = f"http://127.0.0.1:{port}"
    # The image's own entrypoint; on host networking, loopback rather than 0.0.0.0.
    command = ["tabship-serving", "serve", "--host", "127.0.0.1"]
    with engine.started(spec.image, command, port, flags=spec.flags) as process:
        containers.wait_served(engine, process, url)
        assert engine.running is not None
        yield Running(engine, spec, url, process, engine.running)


def test_it_runs_as_the_deployment_says_unprivileged_and_read_only(
    running: Running, serving_image: dict[str, Any], manifests: list[Any]
) -> None:
    state = running.inspect()
    assert state["Config"]["User"] == running.pod.user == "10001:10001"
    assert state["HostConfig"]["ReadonlyRootfs"] is running.pod.read_only is True
    assert running.exec("id", "-u").stdout.strip() == "10001"
    refused = running.exec("touch", "/opt/tabship/planted")
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    assert running.exec("touch", "/var/lib/tabship/ok").returncode == 0  # the state volume
    # kustomize set the image built here; its port is the image's and the probes answer.
    assert running.pod.image == serving_image["name"]
    image = json.loads(subprocess.run([*podman(), "image", "inspect", running.pod.image],
                                      capture_output=True, text=True, check=True).stdout)[0]  # fmt: skip
    assert f"{running.pod.port}/tcp" in image["Config"]["ExposedPorts"]
    assert f"TABSHIP_PORT={running.pod.port}" in image["Config"]["Env"]
    for path in running.pod.probes.values():
        assert call(running.url + path)[0] == 200, path
    assert running.engine.healthcheck() == "passed"
    # The token is a file from the Secret, never a variable in the process's environment.
    environment = running.exec("cat", "/proc/1/environ").stdout
    assert TOKEN not in environment and "TABSHIP_API_TOKEN_FILE=" in environment


def test_predictions_are_the_local_ones_and_need_the_token(
    running: Running, serving_image: dict[str, Any], host_env: dict[str, str], tmp_path: Path
) -> None:
    from tabship.data import project_at
    from tabship.models import load_run_config, load_version

    project = serving_image["trained"]["project"]
    home = project_at(project)
    holdout = load_version(home, load_run_config(home).data).holdout.head(200)
    rows = tmp_path / "holdout.csv"
    holdout.drop(columns=["split"], errors="ignore").to_csv(rows, index=False)
    answers = {}
    for where in (["--url", running.url], ["--local", "--project", str(project)]):
        done = subprocess.run(
            [str(BIN / "tabship-serving"), "predict", str(rows), *where, "--json"],
            env={**host_env, "BENTOML_HOME": str(tmp_path / "bento"), "TABSHIP_API_TOKEN": TOKEN},
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        answers[where[0]] = [p["probability"] for p in json.loads(done.stdout)["predictions"]]
    assert len(answers["--url"]) == 200
    assert answers["--url"] == answers["--local"]
    anonymous = urllib.request.Request(running.url + "/predict", data=b"{}", headers={})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=10)
    assert refused.value.code == 401


def test_the_monitor_reads_what_the_container_logged(
    running: Running, serving_image: dict[str, Any], host_env: dict[str, str]
) -> None:
    from tabship.data import ModelLogs

    log = (
        running.pod.volumes["/var/lib/tabship"] / "monitoring"
    )  # the image's TABSHIP_PREDICTION_LOG
    trained = serving_image["trained"]
    stream = ModelLogs.under(log, trained["train"]["model_name"]).predictions
    files = sorted(p for p in stream.glob("data.*") if p.is_file())
    assert files, f"nothing under {log}: {sorted(log.rglob('*'))}"
    logged = sum(1 for f in files for line in f.read_text(encoding="utf-8").splitlines() if line)
    assert logged >= 200  # the 200 holdout records scored above, and the probes' few
    done = subprocess.run(
        [str(BIN / "tabship-models"), "--project", str(trained["project"]), "monitor", "--json",
         "--no-plots", "--log", str(log)],
        env=host_env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["window"]["rows"] == logged, report["window"]
    assert report["run_id"] == trained["train"]["run_id"]


def test_a_broken_image_is_caught(serving_image: dict[str, Any]) -> None:
    """An image whose entrypoint cannot import the service fails the check, in one line."""
    base = serving_image["name"]
    container = subprocess.run(["buildah", "from", "--pull-never", base], capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
    broken = "localhost/tabship-serving-broken:test"
    try:
        mount = subprocess.run(["buildah", "mount", container], capture_output=True, text=True,
                               check=True).stdout.strip()  # fmt: skip
        services = list(Path(mount).glob("opt/venv/lib/python3*/site-packages/tabship/serving"))
        (services[0] / "service.py").write_text("raise ImportError('planted')\n")
        subprocess.run(["buildah", "commit", "--quiet", "--format", "docker", container, broken],
                       capture_output=True, check=True)  # fmt: skip
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
    try:
        with pytest.raises(ImageError) as caught:
            check_serving(Podman(), broken, free_port(prefer=0), timeout=120)
        assert "exited with code" in str(caught.value) or "/readyz" in str(caught.value)
    finally:
        subprocess.run(["buildah", "rmi", broken], capture_output=True, check=False)


def test_sigterm_under_load_fails_no_request_and_stops_within_the_grace(running: Running) -> None:
    """Eight clients keep a request each in flight; then, as Kubernetes ends a pod, new requests
    stop (the endpoint leaves the Service) and the container's first process gets SIGTERM. Every
    request sent before it must be answered with 200, some of them must still have been in flight
    when it came, and the server must exit 0 within the Deployment's grace period."""
    body = served_example(running.url)
    body = {**body, "records": body["records"] * 2000}  # tens of ms each: some are mid-way
    done: list[tuple[float, float, str]] = []  # (sent, finished, outcome)
    endpoint_removed = threading.Event()

    def client() -> None:
        while not endpoint_removed.is_set():
            sent = time.monotonic()
            try:
                status, _ = call(running.url + "/predict", body, timeout=60)
                outcome = "200" if status == 200 else f"status {status}"
            except OSError as error:  # refused, reset, or cut mid-answer
                outcome = repr(getattr(error, "reason", error))
            done.append((sent, time.monotonic(), outcome))

    pid = int(running.inspect()["State"]["Pid"])  # the container's first process, on the host
    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    endpoint_removed.set()  # no new request from here
    signalled = time.monotonic()
    os.kill(pid, signal.SIGTERM)  # what the runtime sends first; SIGKILL only after the grace
    code = running.process.wait(timeout=running.pod.grace_seconds + 30)
    stopped = time.monotonic() - signalled
    for thread in threads:
        thread.join(timeout=60)
    in_flight = [r for r in done if r[0] < signalled < r[1]]
    failed = [r[2] for r in done if r[2] != "200"]
    print(f"\nSIGTERM under load: {len(done)} requests, {len(in_flight)} in flight at the signal, "
          f"{len(failed)} failed; exited {code} after {stopped:.2f} s "
          f"(grace {running.pod.grace_seconds} s)")  # fmt: skip
    assert in_flight and not failed, failed[:5]
    assert code == 0 and stopped < running.pod.grace_seconds
