"""`tabship-models receive`, the command: from the committed configs/receiver.yaml, with only the
local command changed, Alertmanager's notification runs the job; a missing secret is one line.

The receiver in process, with the CI stand-ins and the local job queue, is test_receiver.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tabship_dev import processes

from .alerts import DRIFT, JOB, TOKEN, fire

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the repository's configs (the receiver needs nothing else)."""
    shutil.copytree(REPO / "configs", tmp_path / "project" / "configs")
    return tmp_path / "project"


def test_the_command_receives_alertmanager_and_runs_the_local_job(
    project: Path, tmp_path: Path, alertmanager_at: Callable[..., subprocess.Popen[bytes]]
) -> None:
    """`tabship-models receive` from the committed configs/receiver.yaml, with only the local
    command changed: Alertmanager's notification starts the job with the trigger and dataset."""
    script, record = tmp_path / "job.py", tmp_path / "jobs.jsonl"
    script.write_text(JOB)
    path = project / "configs" / "receiver.yaml"
    text = path.read_text()
    default = 'command: [nox, -s, retrain, --, --trigger, "{trigger}", --dataset, "{dataset}"]'
    assert default in text
    mine = json.dumps(
        [sys.executable, str(script), "--trigger", "{trigger}", "--dataset", "{dataset}"]
    )
    path.write_text(text.replace(default, f"command: {mine}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABSHIP_")}
    env.update(TABSHIP_RECEIVER_TOKEN=TOKEN, JOB_RECORD=str(record), JOB_SECONDS="0")
    port = processes.free_port()
    receiver = processes.start(
        [str(BIN / "tabship-models"), "--project", str(project), "receive", "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz", tmp_path / "receiver.log", env=env, cwd=project,
    )  # fmt: skip
    am_port = processes.free_port()
    alertmanager = alertmanager_at(tmp_path, f"http://127.0.0.1:{port}/alerts", am_port, TOKEN)
    try:
        fire(f"http://127.0.0.1:{am_port}", DRIFT)
        processes.wait_until(lambda: record.exists() and record.read_text(), "the local job")
    finally:
        processes.stop(alertmanager)
        processes.stop(receiver)
    (run,) = [json.loads(line) for line in record.read_text().splitlines()]
    assert run["argv"] == ["--trigger", "drift", "--dataset", "adult"]
    log = (tmp_path / "receiver.log").read_text()
    assert "receiving Alertmanager's webhook on http://127.0.0.1" in log
    assert "dispatched:" in log and "done (exit 0" in log
    assert (project / "artifacts" / "receiver" / "jobs.log").exists()


def test_a_missing_secret_is_one_line_not_a_traceback(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABSHIP_")}
    done = subprocess.run(
        [str(BIN / "tabship-models"), "--project", str(project), "receive", "--port", "0"],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "TABSHIP_RECEIVER_TOKEN is not set" in done.stderr
    assert "Traceback" not in done.stderr
