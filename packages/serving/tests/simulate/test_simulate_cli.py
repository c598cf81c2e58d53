"""`tabship-serving simulate` end to end: a log written without a service has the service's own
lines and the monitor reads it whole; the same seed gives the same traffic; a bad option is one
line and exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tabship.serving.cli import main

from ..conftest import Project, Server

REPO = Path(__file__).resolve().parents[4]

SHIFTS = ["--offset", "age=0.2", "--move", "workclass:Private>Self-emp-inc=0.1",
          "--label-rate", "0.3", "--flip", "sex=Female@0.5", "--break", "fnlwgt=scale:10"]  # fmt: skip
ID = re.compile(r"^[0-9a-f]{32}-\d+$")
VARY = ("prediction_id", "timestamp", "request_id")  # new for every run, by design


def _simulate(capsys: pytest.CaptureFixture[str], project: Project, *args: str) -> dict[str, Any]:
    assert main(["simulate", "--root", str(project.root), "--json", *args]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _labels(document: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for path in document["labels"]["files"]:
        rows += [line.split(",") for line in Path(path).read_text().splitlines()[1:]]
    return rows


def test_the_monitor_reads_a_log_written_without_a_service(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TABSHIP_MODEL_TAG", raising=False)
    monkeypatch.delenv("TABSHIP_PREDICTION_LOG", raising=False)
    document = _simulate(
        capsys, project, "--to-log", "--rows", "1200", "--seed", "2", "--label-share", "0.5",
        "--label-files", "3", "--shift", "hours-per-week=0.4",
    )  # fmt: skip
    log_file = Path(document["log_file"])
    folder = project.root / "monitoring" / "tabship-adult"
    assert log_file.parent == folder / "tabship_predictions" / "data"
    assert len(_lines(log_file)) == 1200 and document["requests"] == 2
    assert document["labels"]["written"] == 600 and len(document["labels"]["files"]) == 3
    assert Path(document["labels"]["folder"]) == folder / "labels"

    monitor = Path(sys.executable).parent / "tabship-models"
    command = [str(monitor), "--root", str(project.root), "monitor", "--json", "--no-plots"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(done.stdout)
    log = report["log"]
    assert log["files"] == [log_file.name]
    assert log["lines_read"] == log["rows_written"] == 1200  # rows in = rows stored
    assert log["lines_quarantined"] == 0 and log["duplicates"] == 0
    assert report["window"]["rows"] == 1200
    assert report["live"]["labelled"] == 600 and report["live"]["unmatched_labels"] == 0
    assert sorted(report["labels"]["files"]) == sorted(
        Path(p).name for p in document["labels"]["files"]
    )
    assert report["labels"]["bad_count"] == 0
    drifted = report["drift"]["drifted"]
    assert "hours-per-week" in drifted


def _service_lines(server: Server, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The running service's log lines of IDS (it writes them just after answering)."""
    folder = server.log_path / "tabship-adult" / "tabship_predictions" / "data"
    wanted = set(ids)
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(found) < len(wanted):
        found = {
            row["prediction_id"]: row
            for path in folder.glob("data.*.log*")
            for row in _lines(path)
            if row["prediction_id"] in wanted
        }
        time.sleep(0.2)
    assert len(found) == len(wanted)
    return found


def test_a_direct_log_has_the_lines_a_running_service_writes(
    project: Project, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("TABSHIP_MODEL_TAG", raising=False)
    common = ["--rows", "300", "--batch", "100", "--seed", "5", *SHIFTS]
    sent = _simulate(capsys, project, "--url", server.url, "--labels", str(tmp_path / "a"), *common)
    direct = _simulate(capsys, project, "--log", str(tmp_path / "log"),
                       "--labels", str(tmp_path / "b"), *common)  # fmt: skip
    ids = [row[0] for row in _labels(sent)]
    by_id = _service_lines(server, ids)
    served = [by_id[i] for i in ids]
    written = _lines(Path(direct["log_file"]))
    assert len(written) == len(served) == 300
    for theirs, ours in zip(served, written, strict=True):
        assert list(ours) == list(theirs)  # the same fields, in the same order
        assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
        assert {k: v for k, v in ours.items() if k not in VARY} == {
            k: v for k, v in theirs.items() if k not in VARY
        }
        assert ID.match(ours["prediction_id"]) and ID.match(theirs["prediction_id"])
        assert ours["prediction_id"].split("-")[1] == theirs["prediction_id"].split("-")[1]
        assert ours["request_id"].isdigit() and theirs["request_id"].isdigit()
        datetime.fromisoformat(ours["timestamp"])
    for lines in (served, written):  # one request id and time per request of 100 records
        assert len({row["request_id"] for row in lines}) == 3
        assert len({row["timestamp"] for row in lines}) == 3
    assert direct["shifts"] == sent["shifts"]
    assert [row[1] for row in _labels(direct)] == [row[1] for row in _labels(sent)]
    assert direct["model_version"] == sent["model_version"] == written[0]["model_version"]


def test_the_same_seed_gives_the_same_traffic(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(name: str, seed: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        document = _simulate(capsys, project, "--log", str(tmp_path / name), "--labels",
                             str(tmp_path / f"{name}-labels"), "--rows", "500", "--seed", seed,
                             "--label-share", "0.6", *SHIFTS)  # fmt: skip
        rows = [{k: v for k, v in r.items() if k not in VARY}
                for r in _lines(Path(document["log_file"]))]  # fmt: skip
        return document, rows

    first, rows = run("one", "11")
    second, again = run("two", "11")
    assert again == rows
    assert second["shifts"] == first["shifts"]
    assert [r[1] for r in _labels(second)] == [r[1] for r in _labels(first)]
    _, other = run("three", "12")
    assert other != rows


def test_rows_can_come_from_a_file_instead_of_the_holdout(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Rows the project never saw: adult.data beyond the small project's 2,000 training rows.
    columns = ["age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
               "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
               "hours-per-week", "native-country", "income"]  # fmt: skip
    raw = (REPO / "data" / "raw" / "adult.data").read_text(encoding="utf-8").splitlines()
    rows = [line.split(", ") for line in raw[5000:5300] if "?" not in line and line]
    fresh = tmp_path / "fresh.csv"
    fresh.write_text("\n".join([",".join(columns), *(",".join(r) for r in rows)]) + "\n")
    document = _simulate(capsys, project, "--log", str(tmp_path / "log"), "--labels",
                         str(tmp_path / "labels"), "--rows", str(len(rows)), "--source",
                         str(fresh), "--offset", "age=0.5")  # fmt: skip
    logged = _lines(Path(document["log_file"]))
    sent = {(r["fnlwgt"], r["education"]) for r in logged}
    assert sent == {(int(r[2]), r[3]) for r in rows}  # every row came from the file
    truth = {r[1] for r in _labels(document)}
    assert truth <= {">50K", "<=50K"} and len(_labels(document)) == len(rows)
    assert document["shifts"][0]["kind"] == "offset"


def test_a_source_file_without_rows_is_replayed_once_in_its_order(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28, point 11: it drew 5,000 rows with replacement from a 1,000-row file."""
    holdout = project.holdout().drop(columns=["split", "row_id", "source_file", "source_line"],
                                     errors="ignore").head(120)  # fmt: skip
    source = tmp_path / "replay.csv"
    holdout.to_csv(source, index=False)
    document = _simulate(capsys, project, "--log", str(tmp_path / "log"), "--labels",
                         str(tmp_path / "labels"), "--source", str(source))  # fmt: skip
    logged = _lines(Path(document["log_file"]))
    assert document["rows"] == len(logged) == 120
    assert [r["fnlwgt"] for r in logged] == holdout["fnlwgt"].tolist()


@pytest.mark.parametrize(("args", "expected"), [
    (["--source", "/nowhere.csv"], "--source /nowhere.csv: no such file"),
    (["--rows", "0"], "--rows '0': expected a whole number from 1"),
    (["--label-rate", "1.5"], "--label-rate '1.5': expected a share from 0 to 1"),
    (["--label-rate", "most"], "--label-rate 'most'"),
    (["--label-share", "0"], "--label-share '0': expected a share above 0 to 1"),
    (["--label-files", "0"], "--label-files '0'"),
    (["--batch", "20000"], "--batch '20000'"),
    (["--to-log", "--url", "http://127.0.0.1:9"], "--url, --to-log and --log: choose one"),
    (["--shift", "sex=0.5"], "--shift 'sex=0.5': sex is not numeric"),
    (["--offset", "agee=1"], "--offset 'agee=1': no request feature 'agee'"),
    (["--move", "workclass:Private>Nowhere=0.1"], "'Nowhere' is not a category of workclass"),
    (["--move", "workclass:Nowhere>Private=0.1"], "no holdout row has workclass='Nowhere'"),
    (["--flip", "income=>50K"], "--flip 'income=>50K': no request feature 'income'"),
    (["--flip", "sex>3"], "--flip 'sex>3': sex is not numeric: use ="),
    (["--flip", "sex=female"], "--flip 'sex=female': no holdout row has sex='female'"),
    (["--flip", "age>x"], "--flip 'age>x': > needs a number"),
    (["--break", "fnlwgt=halved"], "--break 'fnlwgt=halved': expected FEATURE=constant"),
    (["--break", "sex=scale:10"], "--break 'sex=scale:10': sex is not numeric"),
    (["--break", "age=constant:old"], "age holds integers, not 'old'"),
    (["--break", "age=missing"], "age=None: Input should be a valid integer: the service would"),
    (["--break", "age=scale:1000"], "less than or equal to 120: the service would refuse it"),
])  # fmt: skip
def test_a_bad_option_is_one_line_and_exit_2(
    project: Project, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code = main(["simulate", "--root", str(project.root), "--no-labels", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("tabship-serving simulate: ") and expected in err
