"""Faults of the team stack's engines, each on the real stack: the MLflow server killed in the
middle of a training, the object store lost in the middle of an ingest, PostgreSQL restarted
between two commands, and credentials the MLflow server refuses. A lost part is killed by its pid
(SIGKILL, as a crash) and brought back by `stack up`, on the port it had."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tabship_dev import processes, stack

from tabship.data import ConfigError, fetch_version, project_at

BIN = Path(sys.executable).parent


def _cli(env: dict[str, str], root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=env, cwd=root, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _aliases(env: dict[str, str], model: str) -> dict[str, str]:
    from mlflow import MlflowClient

    found = MlflowClient(env["MLFLOW_TRACKING_URI"]).get_registered_model(model)
    return dict(found.aliases)


def test_the_mlflow_server_killed_mid_train_changes_no_alias_and_the_rerun_completes(
    team_env: dict[str, str],
    tmp_path: Path,
    team_project: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = "killed-server-adult"
    root = team_project(tmp_path / "a", model)
    first = _json(_cli(team_env, root, "tabship-models", "train", "--json"))
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(key, team_env[key])
    before = _aliases(team_env, model)
    assert before == {"candidate": first["model_version"], "champion": first["model_version"]}

    pause = tmp_path / "pause"
    pause.mkdir()
    held = {**team_env, "TABSHIP_PAUSE_AT": "judged", "TABSHIP_PAUSE_DIR": str(pause)}
    run = subprocess.Popen(
        [str(BIN / "tabship-models"), "train", "--force", "--json"], env=held, cwd=root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    processes.wait_until(lambda: list(pause.glob("*.waiting")), "the run to decide", timeout=300)
    folder = Path(team_env["TABSHIP_STACK_DIR"])
    stack.crash(folder, "mlflow")
    (pause / "go").touch()
    out, err = run.communicate(timeout=300)
    print(err.strip().splitlines()[-1])
    assert run.returncode == 1 and not out.strip()
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: MLflow server {team_env['MLFLOW_TRACKING_URI']}")
    assert "Traceback" not in err and team_env["MLFLOW_TRACKING_PASSWORD"] not in err

    stack.up(folder)  # the server again, on its port
    assert _aliases(team_env, model) == before  # champion and previous as they were
    again = _json(_cli(team_env, root, "tabship-models", "train", "--force", "--json"))
    assert again["status"] == "promoted"
    assert _aliases(team_env, model)["previous"] == first["model_version"]


def test_the_store_lost_mid_ingest_leaves_the_shared_version_readable(
    team_env: dict[str, str],
    tmp_path: Path,
    team_project: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {**team_env, "TABSHIP_DATA_STORE": "s3://tabship/lost-store"}
    a = team_project(tmp_path / "a", "lost-store-adult")
    first = _json(_cli(env, a, "tabship-data", "ingest", "--json"))
    # New rows: the next ingest makes a second version.
    raw = a / "data" / "raw" / "adult.data"
    lines = raw.read_text(encoding="utf-8").splitlines(True)
    raw.write_text("".join(lines + lines[:300]), encoding="utf-8")

    # The writer dies between the files and the manifest: the version is not published.
    died = _cli({**env, "TABSHIP_FAULT_AT": "shared-files"}, a, "tabship-data", "ingest", "--json")
    assert died.returncode == 137
    second = (a / "data" / "processed" / "adult" / "latest").read_text().strip()
    assert second != first["dataset_version"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    b = project_at(team_project(tmp_path / "b", "lost-store-adult"))
    assert fetch_version(b, "adult") == first["dataset_version"]  # `latest` did not move
    with pytest.raises(ConfigError, match=f"no version {second}"):
        fetch_version(b, "adult", second)  # its files are there, unpublished: never read

    # The store itself is lost: one line naming it; back, the ingest shares the version.
    folder = Path(team_env["TABSHIP_STACK_DIR"])
    stack.crash(folder, "s3")
    lost = _cli(env, a, "tabship-data", "ingest")
    print(lost.stderr)
    assert lost.returncode != 0 and len(lost.stderr.strip().splitlines()) == 1
    assert "s3://tabship/lost-store/adult/" in lost.stderr
    assert "cannot be reached" in lost.stderr and team_env["AWS_ENDPOINT_URL_S3"] in lost.stderr
    stack.up(folder)
    assert _cli(env, a, "tabship-data", "ingest").returncode == 0
    assert fetch_version(b, "adult") == second
    assert fetch_version(b, "adult", first["dataset_version"]) == first["dataset_version"]


def test_postgresql_restarted_between_two_commands(
    team_env: dict[str, str], tmp_path: Path, team_project: Callable[[Path, str], Path]
) -> None:
    root = team_project(tmp_path / "a", "restarted-db-adult")
    trained = _json(_cli(team_env, root, "tabship-models", "train", "--json"))
    folder = Path(team_env["TABSHIP_STACK_DIR"])
    stack.crash(folder, "postgres")
    stack.up(folder)
    seen = _json(_cli(team_env, root, "tabship-models", "evaluate", "--json"))
    assert seen["model_version"] == trained["model_version"]


def test_credentials_the_mlflow_server_refuses_are_one_line_and_no_secret(
    team_env: dict[str, str], tmp_path: Path, team_project: Callable[[Path, str], Path]
) -> None:
    root = team_project(tmp_path / "a", "refused-adult")
    wrong = "not-the-password-42"
    done = _cli({**team_env, "MLFLOW_TRACKING_PASSWORD": wrong}, root,
                "tabship-models", "evaluate", "--json")  # fmt: skip
    print(done.stderr)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert team_env["MLFLOW_TRACKING_URI"] in done.stderr
    assert "refused the credentials" in done.stderr
    for secret in (wrong, team_env["MLFLOW_TRACKING_PASSWORD"]):
        assert secret not in done.stdout + done.stderr
