"""Two machines and one team stack: two project folders with nothing in common but the stack's
variables (own sqlite-free registry cache, own data store copy, own BentoML home), each command
in its own process as a user runs it.

A trains; B sees A's champion, builds it into its model store from the server (hash-checked),
serves it, sends traffic, monitors it and retrains; A sees B's challenger. Then both train at
once, held at the point where each has read the champion and released together: exactly one
promotes, the other is superseded, and B's service follows the new champion by its registry
watch. Last, A rolls back and tells B's service, which reloads."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from tabship_dev import processes

from tabship.data import fetch_version, project_at

BIN = Path(sys.executable).parent
MODEL = "tabship-adult"
RELOAD_TOKEN = "reload-token"


def _run(env: dict[str, str], root: Path, *command: str, codes: tuple[int, ...] = (0,)) -> Any:
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--json"],
        env=env, cwd=root, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode in codes, f"{command}: {done.returncode}\n{done.stderr[-3000:]}"
    print(f"{' '.join(command[:2])}: {time.monotonic() - started:.1f} s")
    return json.loads(done.stdout)


def _answer(service: str, record: dict[str, Any]) -> str:
    request = urllib.request.Request(
        f"{service}/predict_one", data=json.dumps({"records": [record]}).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())[0]["model_version"])


def _race(envs: list[dict[str, str]], roots: list[Path], pause: Path) -> list[tuple[int, Any]]:
    """Both train at once; each waits where it has read the champion until both are there."""
    pause.mkdir()
    started = [
        subprocess.Popen(
            [str(BIN / "tabship-models"), "train", "--force", "--json"],
            env={**env, "TABSHIP_PAUSE_AT": "judged", "TABSHIP_PAUSE_DIR": str(pause)},
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env, root in zip(envs, roots, strict=True)
    ]
    processes.wait_until(lambda: len(list(pause.glob("*.waiting"))) == 2, "both runs to decide",
                         timeout=300)  # fmt: skip
    (pause / "go").touch()
    results = []
    for process in started:
        out, err = process.communicate(timeout=300)
        assert out.strip(), err[-3000:]
        results.append((process.returncode, json.loads(out.splitlines()[-1])))
    return results


def test_two_machines_share_one_registry_and_one_promotes_at_a_time(
    team_env: dict[str, str], tmp_path: Path, make_small_project: Callable[[Path], Path]
) -> None:
    a, b = make_small_project(tmp_path / "a"), make_small_project(tmp_path / "b")
    # B's service follows the registry's champion by itself, every second (the reload watch).
    serving = b / "configs" / "serving.yaml"
    settings = yaml.safe_load(serving.read_text(encoding="utf-8"))
    serving.write_text(yaml.safe_dump({**settings, "reload_watch_seconds": 1}), encoding="utf-8")
    env_a = {
        **team_env,
        "BENTOML_HOME": str(tmp_path / "bento-a"),
        "TABSHIP_RELOAD_TOKEN": RELOAD_TOKEN,
    }
    env_b = {
        **team_env,
        "BENTOML_HOME": str(tmp_path / "bento-b"),
        "TABSHIP_RELOAD_TOKEN": RELOAD_TOKEN,
    }

    first = _run(env_a, a, "tabship-models", "train")
    assert first["status"] == "promoted"
    assert not (b / "mlruns" / "mlflow.db").exists() and not (a / "mlruns" / "mlflow.db").exists()
    seen = _run(env_b, b, "tabship-models", "evaluate")
    # B fetched the dataset version A shared, and scored A's champion on it.
    assert seen["model_version"] == first["model_version"]
    assert seen["dataset_version"] == first["dataset_version"]
    built = _run(env_b, b, "tabship-serving", "build", "--model-only")
    assert str(built["model_version"]) == first["model_version"]

    port = processes.free_port()
    service = f"http://127.0.0.1:{port}"
    server = processes.start(
        [str(BIN / "tabship-serving"), "serve", "--port", str(port)], f"{service}/readyz",
        tmp_path / "serve-b.log", env=env_b, cwd=b,
    )  # fmt: skip
    try:
        with urllib.request.urlopen(f"{service}/docs.json", timeout=10) as answer:
            paths = json.loads(answer.read())["paths"]
        body = paths["/predict"]["post"]["requestBody"]["content"]["application/json"]
        record = body["example"]["records"][0]
        assert _answer(service, record) == first["model_version"]
        _run(env_b, b, "tabship-serving", "simulate", "--url", service, "--rows", "800")
        log = b / "monitoring" / MODEL / "tabship_predictions" / "data"
        processes.wait_until(
            lambda: sum(len(f.read_bytes().splitlines()) for f in log.glob("data.*")) >= 800,
            "the service's log of the traffic",
        )  # fmt: skip
        report = _run(env_b, b, "tabship-models", "monitor", "--no-plots")
        assert report["window"]["rows"] >= 800

        retrained = _run(env_b, b, "tabship-models", "retrain", "--force", codes=(0, 5))
        challenger = str(retrained["challenger"])
        assert int(challenger) > int(first["model_version"])
        seen = _run(env_a, a, "tabship-models", "evaluate", "--version", challenger)
        assert seen["model_version"] == challenger

        # Both at once: one promotes, the other finds the champion moved.
        results = _race([env_a, env_b], [a, b], tmp_path / "pause")
        statuses = sorted(r[1]["status"] for r in results)
        print("race:", [(code, r["status"], r["model_version"]) for code, r in results])
        assert statuses == ["promoted", "superseded"]
        assert sorted(code for code, _ in results) == [0, 5]
        winner = next(r for _, r in results if r["status"] == "promoted")
        # The watch sees the new champion on the server and B's service swaps to it.
        processes.wait_until(
            lambda: _answer(service, record) == winner["model_version"], "the watch's swap"
        )

        # A rolls back and tells B's service, which reloads the restored champion.
        rolled = _run(env_a, a, "tabship-models", "rollback", "--notify", service)
        assert rolled["previous"] == winner["model_version"]
        deadline = time.monotonic() + 60
        while _answer(service, record) != rolled["champion"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _answer(service, record) == rolled["champion"]
    finally:
        processes.stop(server)


def test_the_dask_engine_shares_its_partitioned_version(
    team_env: dict[str, str],
    tmp_path: Path,
    make_project: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`train --engine dask` against the stack: it registers on the server, and the partitioned
    version it ingested (one file per source partition) is fetched whole by another machine."""
    env = {**team_env, "TABSHIP_DATA_STORE": "s3://tabship/dask"}
    a = make_project(tmp_path / "a", 10, 10)
    rows = tmp_path / "rows"
    synth = _run(env, a, "tabship-data", "synth", "--dataset", "synth", "--rows", "20000",
                 "--out", str(rows), "--partitions", "4")  # fmt: skip
    assert len(synth["files"]) == 4
    trained = _run(env, a, "tabship-models", "train", "--dataset", "synth", "--engine", "dask",
                   "--source", str(rows))  # fmt: skip
    assert trained["status"] == "promoted"

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    b = project_at(make_project(tmp_path / "b", 10, 10))
    assert fetch_version(b, "synth") == trained["dataset_version"]
    parts = sorted((b.store / "synth" / trained["dataset_version"] / "data").glob("part-*"))
    assert len(parts) == 4
    seen = _run(env, tmp_path / "b", "tabship-models", "evaluate", "--dataset", "synth")
    assert seen["model_version"] == trained["model_version"]
    assert seen["dataset_version"] == trained["dataset_version"]


def test_a_search_is_shared_through_the_team_database(
    team_env: dict[str, str], tmp_path: Path, team_project: Callable[[Path, str], Path]
) -> None:
    """A's `train` searches (its study in the stack's PostgreSQL, $TABSHIP_STUDY_STORAGE); B's
    `tune`, on the same dataset version, finds the study finished and runs no trial."""
    assert team_env["TABSHIP_STUDY_STORAGE"].startswith("postgresql+psycopg2://")
    roots = [team_project(tmp_path / name, "tabship-tuned") for name in ("a", "b")]
    for root in roots:
        train_yaml = root / "configs" / "datasets" / "adult" / "train.yaml"
        config = yaml.safe_load(train_yaml.read_text(encoding="utf-8"))
        config["tune"] = {"enabled": True, "trials": 6}
        train_yaml.write_text(yaml.safe_dump(config), encoding="utf-8")
    trained = _run(team_env, roots[0], "tabship-models", "train")
    assert trained["search"]["counts"]["complete"] + trained["search"]["counts"]["pruned"] == 6
    found = _run(team_env, roots[1], "tabship-models", "tune")
    assert found["study"] == trained["search"]["study"] and found["new_trials"] == 0
    assert found["best_params"] == trained["search"]["best_params"]
    assert not any((root / "mlruns" / "optuna.db").exists() for root in roots)
    secret = urlsplit(team_env["TABSHIP_STUDY_STORAGE"]).password
    assert secret and secret not in json.dumps(found)  # the URL's credentials are not echoed
