"""The README's journey through the command lines, each in its own process as a user runs them:
train, then serve without building a bento first, then score over HTTP, then monitor what the
service logged. The service starts in another folder with a relative TABSHIP_PREDICTION_LOG:
both resolve it against the project, so `invoke monitor` reads exactly what was logged."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return int(answer.status), answer.read()


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def test_train_then_serve_answers_with_the_champion(
    tmp_path: Path, make_small_project: Callable[[Path], Path], repo_root: Path
) -> None:
    root = make_small_project(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True")
    elsewhere = tmp_path / "elsewhere"  # the service's working directory: not the project
    elsewhere.mkdir()

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:], "--json"],
            env=env, cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    trained = cli("tabship-models", "train")
    assert trained["status"] == "promoted"

    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    # Relative: the project's root is what it is relative to, never the working directory.
    served = {**env, "TABSHIP_PROJECT": str(root), "TABSHIP_PREDICTION_LOG": "served-log"}
    server = subprocess.Popen(
        [str(BIN / "tabship-serving"), "serve", "--port", str(port)],
        env=served, cwd=elsewhere, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("no /readyz within 120 s")
        document = json.loads(_get(f"{base}/docs.json")[1])
        body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
        answer = _post(f"{base}/predict", body["example"])
        more = _post(f"{base}/predict", {"records": body["example"]["records"] * 4})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert answer["model_version"] == trained["model_version"]
    assert 0 <= answer["predictions"][0]["probability"] <= 1
    assert f"run {trained['run_id']}" in document["info"]["description"]  # the champion's run

    logged = {answer["predictions"][0]["prediction_id"]}
    logged |= {p["prediction_id"] for p in more["predictions"]}
    assert not (elsewhere / "served-log").exists()
    assert list((root / "served-log" / "tabship-adult").glob("tabship_predictions/data/*.log"))

    # The monitor as a user runs it, from the repository, on the same project and setting.
    invoke = shutil.which("invoke")
    assert invoke, "invoke is not on PATH: pip install -r requirements-bootstrap.txt"
    done = subprocess.run(
        [invoke, "monitor", "--json"], env=served, cwd=repo_root,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["log"]["rows_written"] == len(logged)
    assert report["window"]["rows"] == len(logged)
