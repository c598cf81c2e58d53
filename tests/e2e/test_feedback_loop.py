"""Issue 12's acceptance, end to end, every step a real program on loopback: the service, the
simulator, the monitor job, Prometheus, Alertmanager, the retraining receiver and the retrain it
starts.

1. Serve the champion (version 1), with the reload endpoint on.
2. Simulate traffic, from rows the project has never seen, with a covariate shift on two
   features, and their labels.
3. `tabship-models monitor` reports drift on exactly those two features (and the score).
4. Its push fires the drift alert in Prometheus (and the estimated-drop alert: the shift moves
   the scores); Alertmanager's webhook reaches the receiver, which starts the local retrain for
   whichever arrives first (they are grouped apart) and skips the other in its cooldown.
5. The retrain promotes a challenger trained on the new data, and tells the service.
6. The service answers with the new version; requests at concurrency 16 through the swap all
   succeed, each scored by version 1 or version 2.

Then a second retrain whose challenger is made worse on purpose (its most important feature
dropped from features.yaml) is refused: exit 5, the card says why, version 2 keeps serving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tabship_dev import processes

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN, RELOAD_TOKEN = "receiver-token", "reload-token"
MODEL = "tabship-adult"
COLUMNS = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
           "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
           "hours-per-week", "native-country", "income"]  # fmt: skip
SHIFTED = {"hours-per-week", "workclass"}
Stack = Callable[..., tuple[dict[str, str], list[subprocess.Popen[bytes]]]]


def _fresh_rows(path: Path, first: int, count: int) -> list[dict[str, Any]]:
    """adult.data rows FIRST.. (the small project trains on the first 2,000) as a CSV with a
    header, for `simulate --source`, missing values (`?`) left empty; returns them as records.
    Every row is kept: leaving out those with a missing value would itself be drift."""
    lines = (REPO / "data" / "raw" / "adult.data").read_text(encoding="utf-8").splitlines()
    rows = [line.split(", ") for line in lines[first : first + count]]
    rows = [["" if v == "?" else v for v in r] for r in rows if len(r) == len(COLUMNS)]
    path.write_text("\n".join([",".join(COLUMNS), *(",".join(r) for r in rows)]) + "\n")
    numeric = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
    return [
        {c: (int(v) if c in numeric else v or None)
         for c, v in zip(COLUMNS, r, strict=True) if c != "income"}
        for r in rows
    ]  # fmt: skip


class Load:
    """Requests to /predict_one at a fixed concurrency until stopped: every outcome is kept."""

    def __init__(self, url: str, records: list[dict[str, Any]], workers: int = 16) -> None:
        self.url, self.records = f"{url}/predict_one", records
        self.results: list[tuple[float, int, str | None]] = []  # (time, status, version)
        self.lock, self.stopping = threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(workers)]
        for thread in self.threads:
            thread.start()

    def _run(self, worker: int) -> None:
        i = worker
        while not self.stopping.is_set():
            body = json.dumps({"records": [self.records[i % len(self.records)]]}).encode()
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, version = answer.status, json.loads(answer.read())[0]["model_version"]
            except urllib.error.HTTPError as error:
                status, version = error.code, None
            except OSError:
                status, version = 0, None  # no answer at all: a connection error
            with self.lock:
                self.results.append((time.monotonic(), status, version))
            i += len(self.threads)

    def versions_since(self, moment: float) -> set[str | None]:
        with self.lock:
            return {v for t, _, v in self.results if t > moment}

    def stop(self) -> list[tuple[float, int, str | None]]:
        self.stopping.set()
        for thread in self.threads:
            thread.join()
        return self.results


def _run(env: dict[str, str], root: Path, *command: str, codes: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=env, cwd=root, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode in codes, done.stderr[-3000:]
    return done.stdout


def _receiver_config(root: Path, service: str) -> None:
    """configs/receiver.yaml as committed, with the local command running the retrain here and
    telling the service (`--notify`) when it promotes."""
    path = root / "configs" / "receiver.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["local"]["command"] = [
        str(BIN / "tabship-models"), "retrain", "--trigger", "{trigger}", "--dataset",
        "{dataset}", "--notify", service,
    ]  # fmt: skip
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def _history(root: Path) -> list[dict[str, Any]]:
    path = root / "artifacts" / "retrain" / MODEL / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _drop_most_important(root: Path, card: Path) -> str:
    """Remove the champion's most important input feature from features.yaml (the request
    schema is the dataset's, so the service can still swap to such a model)."""
    importance = json.loads(card.read_text(encoding="utf-8"))["feature_importance"]
    path = root / "configs" / "datasets" / "adult" / "features.yaml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    inputs = set(spec["numeric"]) | set(spec["categorical"])
    best = str(next(name for name in importance if name in inputs))
    spec["numeric"] = [n for n in spec["numeric"] if n != best]
    spec["categorical"] = [n for n in spec["categorical"] if n != best]
    spec["derived"] = [d for d in spec.get("derived", []) if best not in d["columns"]]
    spec["missing_indicators"] = [n for n in spec.get("missing_indicators", []) if n != best]
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return best


def test_a_drift_alert_retrains_promotes_and_the_service_swaps_without_a_failed_request(
    tmp_path: Path, make_small_project: Callable[[Path], Path], stack_at: Stack
) -> None:
    root = make_small_project(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True",
               TABSHIP_RELOAD_TOKEN=RELOAD_TOKEN, TABSHIP_RECEIVER_TOKEN=TOKEN)  # fmt: skip
    _run(env, root, "tabship-models", "train", "--json")
    _fresh_rows(tmp_path / "fresh.csv", 2000, 3200)
    # The load's own records are distinct rows too: repeated ones would look like drift.
    records = _fresh_rows(tmp_path / "load.csv", 14000, 3000)

    started: list[subprocess.Popen[bytes]] = []
    load: Load | None = None
    try:
        port = processes.free_port()
        service = f"http://127.0.0.1:{port}"
        started.append(processes.start(
            [str(BIN / "tabship-serving"), "serve", "--port", str(port)], f"{service}/readyz",
            tmp_path / "serve.log", env=env, cwd=root,
        ))  # fmt: skip
        _receiver_config(root, service)
        receiver_port = processes.free_port()
        receiver = f"http://127.0.0.1:{receiver_port}"
        started.append(processes.start(
            [str(BIN / "tabship-models"), "receive", "--port", str(receiver_port)],
            f"{receiver}/healthz", tmp_path / "receiver.log", env=env, cwd=root,
        ))  # fmt: skip
        urls, stack = stack_at(tmp_path, service, f"{receiver}/alerts", TOKEN)
        started += stack

        # 2. Traffic with two features shifted, and its labels.
        _run(env, root, "tabship-serving", "simulate", "--url", service, "--rows", "3000",
             "--source", str(tmp_path / "fresh.csv"), "--seed", "3", "--offset",
             "hours-per-week=1", "--move", "workclass:Private>Self-emp-inc=0.15")  # fmt: skip
        # The service writes its log after answering: judge the window once all of it is there.
        log = root / "monitoring" / MODEL / "tabship_predictions" / "data"
        processes.wait_until(
            lambda: sum(len(f.read_bytes().splitlines()) for f in log.glob("data.*")) >= 3000,
            "the service's log of the simulated traffic",
        )  # fmt: skip
        # 3. The monitor names exactly the shifted features (and the score they move).
        report = json.loads(_run(env, root, "tabship-models", "monitor", "--json", "--no-plots",
                                 "--pushgateway", urls["pushgateway"]))  # fmt: skip
        drifted = set(report["drift"]["drifted"])
        assert SHIFTED <= drifted <= SHIFTED | {"__score__"}, drifted
        # The load starts once the window is judged (its rows would dilute it), and well before
        # the swap: the alert, the receiver and a retrain come first.
        load = traffic = Load(service, records)
        # 4 and 5. Prometheus -> Alertmanager -> receiver -> retrain, which promotes.
        (promoted,) = processes.wait_until(
            lambda: [h for h in _history(root) if h["status"] == "promoted"],
            "the alert's retrain to promote", timeout=600,
        )  # fmt: skip
        # Both alerts ask for a retrain and race to the receiver; exactly one retrain ran.
        assert promoted["trigger"] in {"drift", "estimate_drop"} and promoted["champion"] == "1"
        assert promoted["challenger"] == "2" and promoted["feedback"]["appended"] > 2000
        assert promoted["report"], "the monitor report that caused it is recorded"
        print("promoted:", promoted["reasons"])
        # 6. The service answers with version 2 (it was told), and nothing failed meanwhile.
        processes.wait_until(
            lambda: traffic.versions_since(time.monotonic() - 1) == {"2"},
            "a second of answers all from version 2",
        )  # fmt: skip
        results = traffic.stop()
        load = None
        failed = [r for r in results if r[1] != 200]
        versions = {r[2] for r in results}
        print(f"{len(results)} requests through the swap, {len(failed)} failed, {versions}")
        assert not failed and versions == {"1", "2"}
        receiver_log = (tmp_path / "receiver.log").read_text()
        assert "done (exit 0" in receiver_log

        # The second run: a challenger without its best feature is refused.
        _refused_run(env, root, service, records[0])
    finally:
        if load is not None:
            load.stop()
        for process in reversed(started):
            processes.stop(process)


def _version_of_an_answer(service: str, record: dict[str, Any]) -> str:
    body = json.dumps({"records": [record]}).encode()
    request = urllib.request.Request(
        f"{service}/predict_one", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return str(json.loads(answer.read())[0]["model_version"])


def _refused_run(env: dict[str, str], root: Path, service: str, record: dict[str, Any]) -> None:
    """A challenger trained on the same data without the champion's most important feature
    (forced: no new rows, and within the cooldown): refused (exit 5), the card says why, and
    version 2 serves on."""
    card = root / "artifacts" / "models" / MODEL / "v2" / "model_card.json"
    dropped = _drop_most_important(root, card)
    out = _run(env, root, "tabship-models", "retrain", "--force", "--notify", service, "--json",
               codes=(5,))  # fmt: skip
    refused = json.loads(out.splitlines()[-1])
    print(f"without {dropped}:", refused["reasons"])
    assert refused["status"] == "refused" and refused["challenger"] == "3"
    assert not refused["verdict"]["comparison"]["better"]
    text = Path(refused["card_path"]).read_text(encoding="utf-8")
    assert "REFUSED: the champion stays" in text and "not better beyond doubt" in text
    assert _version_of_an_answer(service, record) == "2"


@pytest.fixture(autouse=True)
def _needs_the_stack(tool: Callable[[str], str]) -> None:
    """Skip (or fail, in CI) without the Debian monitoring tools, like the rest of this folder."""
    for name in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway"):
        tool(name)
