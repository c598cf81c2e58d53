"""Your own data, as a user brings it: two new datasets beside Adult in one project, each through
`init`, `train`, `bento`, `serve` and `predict` with no code change, each command in its own
process. Adult's files are not touched by the other datasets' commands."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
ADULT = Path(__file__).resolve().parents[2] / "data" / "raw" / "adult.data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
            return int(answer.status) == 200
    except OSError:
        return False


def _search_trials(train_yaml: Path, trials: int) -> None:
    """Cut init's proposed search to TRIALS trials (the small-data test below runs it whole):
    this test is about two datasets beside Adult, and each trial is a full cross-validation."""
    text = train_yaml.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.strip().startswith("trials:")]
    assert len(at) == 1, f"{train_yaml}: expected one `trials:` line"
    indent = lines[at[0]][: len(lines[at[0]]) - len(lines[at[0]].lstrip())]
    lines[at[0]] = f"{indent}trials: {trials}\n"
    train_yaml.write_text("".join(lines), encoding="utf-8")


def _fingerprint(*folders: Path) -> dict[str, str]:
    """sha256 of every file under FOLDERS, by path."""
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_two_new_datasets_beside_adult_from_init_to_predict(
    tmp_path: Path,
    make_small_project: Callable[[Path], Path],
    credit_csv: Callable[..., Path],
    coded_file: Callable[..., Path],
) -> None:
    root = make_small_project(tmp_path / "project")
    raw = root / "data" / "raw"
    credit_csv(raw / "credit.csv")
    coded_file(raw / "german.data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True")

    def cli(*args: str, json_out: bool = True) -> Any:
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:], *(["--json"] if json_out else [])],
            env=env, cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout) if json_out else done.stdout

    # init: a headered CSV with string labels, and a headerless space-separated coded file.
    credit = cli("tabship-data", "init", "data/raw/credit.csv", "--target", "outcome",
                 "--positive", "bad")  # fmt: skip
    german = cli("tabship-data", "init", "data/raw/german.data", "--target", "7",
                 "--positive", "2")  # fmt: skip
    assert (credit["dataset"], credit["key"], credit["header"]) == ("credit", ["customer_id"], True)
    assert (german["dataset"], german["separator"], german["header"]) == ("german", " ", False)

    adult = cli("tabship-models", "train")  # the project's default dataset is still Adult
    assert (adult["model_name"], adult["status"]) == ("tabship-adult", "promoted")
    adult_files = [
        root / "configs" / "datasets" / "adult",
        root / "data" / "processed" / "adult",
        root / "artifacts" / "models" / "tabship-adult",
    ]
    before = _fingerprint(*adult_files)

    trained = {}
    for name in ("credit", "german"):
        _search_trials(root / "configs" / "datasets" / name / "train.yaml", 6)
        trained[name] = cli("tabship-models", "train", "--dataset", name)
        assert trained[name]["model_name"] == f"tabship-{name}"
        assert trained[name]["status"] == "promoted", trained[name]["gate_table"]
        assert "vs baseline roc_auc" in trained[name]["gate_table"]  # the relative gate
        built = cli("tabship-serving", "build", "--dataset", name)
        assert built["model_name"] == f"tabship-{name}" and "bento" in built

    rows = {
        "adult": None,
        "credit": "customer_id,income,age,debt_ratio,purpose,years_employed\n"
        "7,41000.5,30,0.7,business,3\n8,,52,0.1,house,NA\n",
        "german": "column_1,column_2,column_3,column_4,column_5,column_6\n"
        "A11,24,A30,9000,A61,25\nA14,12,A34,1200,A65,60\n",
    }
    with ExitStack() as stack:
        # All three start at once and serve side by side.
        servers = {name: stack.enter_context(_serving(root, env, name, tmp_path)) for name in rows}
        urls = {name: wait_ready() for name, wait_ready in servers.items()}
        for name, text in rows.items():
            if text is None:
                continue
            csv = tmp_path / f"{name}-rows.csv"
            csv.write_text(text, encoding="utf-8")
            # --dataset: the CSV's missing tokens are the dataset's own (credit's `NA`).
            scored = cli(
                "tabship-serving", "predict", str(csv), "--url", urls[name], "--dataset", name
            )
            assert scored["model_version"] == trained[name]["model_version"]
            assert len(scored["predictions"]) == 2
        # In-process scoring of the same rows, from the store, gives the same probabilities.
        local = cli("tabship-serving", "predict", str(csv), "--local", "--dataset", "german")
        assert [p["probability"] for p in local["predictions"]] == [
            p["probability"] for p in scored["predictions"]
        ]
    logs = sorted(p.name for p in (root / "monitoring").iterdir())
    assert logs == ["tabship-credit", "tabship-german"]  # one prediction log per model

    assert _fingerprint(*adult_files) == before
    versions = cli("tabship-models", "versions")
    assert [v["version"] for v in versions["versions"]] == ["1"]  # tabship-adult: untouched


def test_a_small_new_dataset_gets_a_champion_from_init_to_predict(tmp_path: Path) -> None:
    """1,000 Adult rows as a user's new file: `init` proposes a search sized to it, `train`
    tunes and gates against its baseline with the paired interval, and the model serves."""
    root = tmp_path / "project"
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    lines = [line for line in ADULT.read_text(encoding="utf-8").splitlines() if line.strip()]
    header = ("age,workclass,fnlwgt,education,education-num,marital-status,occupation,"
              "relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country,"
              "income")  # fmt: skip
    body = [",".join(f.strip() for f in line.split(",")) for line in lines[1000:2000]]
    (raw / "people.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True")

    def cli(*args: str) -> Any:
        done = subprocess.run([str(BIN / args[0]), *args[1:], "--json"], env=env, cwd=root,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    cli("tabship-data", "init", "data/raw/people.csv", "--target", "income", "--positive", ">50K")
    proposed = (root / "configs" / "datasets" / "people" / "train.yaml").read_text("utf-8")
    assert "num_leaves: {low: 4, high: 40, log: true}" in proposed  # sized to 800 rows
    trained = cli("tabship-models", "train")
    assert trained["status"] == "promoted", trained["gate_table"]
    search = trained["search"]
    assert search["counts"]["complete"] + search["counts"]["pruned"] == 30
    assert search["stopped"] == "trials" and search["best_params"]["num_leaves"] <= 40
    assert "95% upper bound" in trained["gate_table"]  # the paired check against the baseline
    card = Path(trained["card_path"]).read_text(encoding="utf-8")
    assert "## Hyperparameter search" in card and "Gain over the baseline" in card
    again = cli("tabship-models", "train")  # cached: nothing searched or trained again
    assert again["cached"] and again["model_version"] == trained["model_version"]
    cli("tabship-serving", "build")
    with _serving(root, env, "people", tmp_path) as wait_ready:
        url = wait_ready()
        rows = tmp_path / "rows.csv"
        rows.write_text("\n".join([header.rsplit(",", 1)[0]] + [b.rsplit(",", 1)[0]
                                   for b in body[:3]]) + "\n", encoding="utf-8")  # fmt: skip
        scored = cli("tabship-serving", "predict", str(rows), "--url", url)
        assert scored["model_version"] == trained["model_version"]
        assert len(scored["predictions"]) == 3


@contextmanager
def _serving(
    root: Path, env: dict[str, str], dataset: str, logs: Path
) -> Iterator[Callable[[], str]]:
    """Start `tabship-serving serve --dataset DATASET` on a free port; the block gets a function
    that waits for /readyz and returns the URL. The server stops when the block ends."""
    port = _free_port()
    log_path = logs / f"serve-{dataset}.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [str(BIN / "tabship-serving"), "serve", "--dataset", dataset, "--port", str(port)],
        env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def wait_ready() -> str:
        deadline = time.monotonic() + 180
        while not _ready(url):
            assert server.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{dataset}: no /readyz within 180 s"
            time.sleep(0.3)
        return url

    try:
        yield wait_ready
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
