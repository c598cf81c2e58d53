"""`tabship-models retrain`: labelled production rows become a new dataset version, and a
challenger replaces the champion only when a paired test says it is better."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from tabship.data import list_versions, project_at
from tabship.models import CHALLENGER, CHAMPION, PREVIOUS, Registry, load_run_config
from tabship.models.cli import EXIT_REFUSED, EXIT_SKIPPED, main

if TYPE_CHECKING:
    from packages.models.tests.conftest import LogWriter

REPO = Path(__file__).resolve().parents[4]
NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}


def _adult_rows(first: int, count: int) -> list[dict[str, object]]:
    """Rows FIRST.. of adult.data as records (the small project trains on the first 2,000)."""
    columns = load_run_config(project_at(REPO)).data.columns
    lines = (REPO / "data" / "raw" / "adult.data").read_text(encoding="utf-8").splitlines()
    rows = []
    for line in lines[first : first + count]:
        values = line.split(", ")
        if len(values) != len(columns):
            continue
        record: dict[str, object] = {}
        for name, value in zip(columns, values, strict=True):
            record[name] = None if value == "?" else int(value) if name in NUMERIC else value
        rows.append(record)
    return rows


def _serve_log(root: Path, model: str, rows: list[dict[str, object]], log: LogWriter) -> None:
    """What the service would have logged for ROWS, and their labels, delivered later."""
    ids = log(root, model, [{k: v for k, v in r.items() if k != "income"} for r in rows],
              [0.5] * len(rows))  # fmt: skip
    labels = root / "monitoring" / model / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    text = "prediction_id,label\n" + "".join(
        f"{i},{r['income']}\n" for i, r in zip(ids, rows, strict=True)
    )
    # One id labelled both ways: left out, and counted.
    (labels / "day1.csv").write_text(text + f"{ids[0]},>50K\n{ids[0]},<=50K\n", encoding="utf-8")


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert isinstance(result, dict)
    return result


def test_retrain_appends_labelled_rows_and_promotes_only_a_better_model(
    small_project: Path, capsys: pytest.CaptureFixture[str], log_writer: LogWriter
) -> None:
    root = ["--project", str(small_project)]
    assert main([*root, "train", "--json"]) == 0
    capsys.readouterr()
    project = project_at(small_project)
    run = load_run_config(project)
    model = run.train.model_name
    production = _adult_rows(2000, 6000)
    _serve_log(small_project, model, production, log_writer)

    outcome_file = small_project / "outcome.json"
    code = main([*root, "retrain", "--trigger", "drift", "--outcome", str(outcome_file), "--json"])
    outcome = _json(capsys)
    print(outcome["reasons"])
    assert code == 0 and outcome["status"] == "promoted"
    assert json.loads(outcome_file.read_text()) == outcome
    feedback = outcome["feedback"]
    assert isinstance(feedback, dict)
    assert feedback["logged"] == len(production) and feedback["conflicting"] == 1
    assert feedback["labelled"] == feedback["appended"] == len(production) - 1
    # The new version holds every base row and every appended row: rows in = accepted + quarantined.
    versions = {m.version: m for m in list_versions("adult", project.store)}
    new = versions[str(outcome["dataset_version"])]
    assert new.rows["in"] == new.rows["accepted"] + new.rows["quarantined"]
    assert new.rows["in"] == 2000 + 1000 + len(production) - 1
    assert [s.role for s in new.sources][-1] == "feedback"

    registry = Registry(project, model, run.train.experiment)
    champion, previous = registry.alias(CHAMPION), registry.alias(PREVIOUS)
    assert champion is not None and champion.version == outcome["challenger"] == "2"
    assert previous is not None and previous.version == "1"
    verdict = outcome["verdict"]
    assert isinstance(verdict, dict) and verdict["comparison"]["better"]
    tags = registry.client.get_run(str(outcome["run_id"])).data.tags
    assert tags["tabship.trigger"] == "drift" and tags["tabship.verdict"] == "promote"

    # Straight after: the cooldown skips it, and nothing is trained.
    assert main([*root, "retrain", "--json"]) == EXIT_SKIPPED
    skipped = _json(capsys)
    assert skipped["status"] == "skipped" and "cooldown" in str(skipped["reasons"])

    # Forced, with no new rows: the challenger learns from the same data, a tie, so it is refused.
    assert main([*root, "retrain", "--force", "--json"]) == EXIT_REFUSED
    refused = _json(capsys)
    assert refused["status"] == "refused" and refused["feedback"]["appended"] == 0  # type: ignore[index]
    assert registry.alias(CHAMPION).version == "2"  # type: ignore[union-attr]
    assert registry.alias(CHALLENGER).version == refused["challenger"] == "3"  # type: ignore[union-attr]
    card = Path(str(refused["card_path"])).read_text(encoding="utf-8")
    assert "REFUSED: the champion stays" in card and "not better beyond doubt" in card
    history = (project.artifacts / "retrain" / model / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["status"] for line in history] == ["promoted", "skipped", "refused"]


def test_two_retrains_at_once_promote_at_most_one(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--project", str(small_project), "train", "--json"]) == 0
    capsys.readouterr()
    # More training data, dropped into the feedback folder as a user would: both runs see it.
    feedback = small_project / "data" / "feedback" / "adult"
    feedback.mkdir(parents=True)
    lines = (REPO / "data" / "raw" / "adult.data").read_text(encoding="utf-8").splitlines(True)
    (feedback / "more.csv").write_text("".join(lines[2000:8000]), encoding="utf-8")
    config = small_project / "configs" / "datasets" / "adult" / "retrain.yaml"
    config.write_text(yaml.safe_dump({"min_new_rows": 100}), encoding="utf-8")
    command = [sys.executable, "-m", "tabship.models.cli", "--project", str(small_project)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    runs = [
        subprocess.Popen(
            [*command, "retrain", "--force", "--json"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    finished = [(p.communicate(timeout=600), p.returncode) for p in runs]
    for (out, err), code in finished:  # a run that printed no result says why on stderr
        assert out.strip(), f"a retrain exited {code} with no result:\n{err[-3000:]}"
    results = [(code, out) for (out, _), code in finished]
    statuses = sorted(json.loads(out.splitlines()[-1])["status"] for _, out in results)
    codes = sorted(code for code, _ in results)
    print(statuses, codes)
    # The other run either judged against the old champion and lost the compare-and-set
    # (superseded), or started judging after the promotion and faced the new one (refused).
    assert statuses[0] == "promoted" and statuses[1] in {"refused", "superseded"}, statuses
    assert codes == [0, EXIT_REFUSED]
    project = project_at(small_project)
    run = load_run_config(project)
    registry = Registry(project, run.train.model_name, run.train.experiment)
    aliases = {a: registry.alias(a) for a in (CHAMPION, PREVIOUS, CHALLENGER)}
    assert {v.version for v in aliases.values() if v} == {"1", "2", "3"}
    previous = aliases[PREVIOUS]
    assert previous is not None and previous.version == "1"


@pytest.mark.parametrize("point", ["feedback", "carded"])
def test_a_retrain_killed_leaves_the_aliases_and_the_next_run_works(
    small_project: Path, capsys: pytest.CaptureFixture[str], log_writer: LogWriter, point: str
) -> None:
    root = ["--project", str(small_project)]
    assert main([*root, "train", "--json"]) == 0
    capsys.readouterr()
    project = project_at(small_project)
    run = load_run_config(project)
    _serve_log(small_project, run.train.model_name, _adult_rows(2000, 3000), log_writer)
    command = [sys.executable, "-m", "tabship.models.cli", *root, "retrain", "--json"]
    killed = subprocess.run(
        command, env={**os.environ, "TABSHIP_FAULT_AT": point}, capture_output=True, check=False
    )
    assert killed.returncode == 137
    registry = Registry(project, run.train.model_name, run.train.experiment)
    champion = registry.alias(CHAMPION)
    assert champion is not None and champion.version == "1"
    assert registry.alias(PREVIOUS) is None and registry.alias(CHALLENGER) is None
    # The killed run's clock holds the cooldown; forced, the next run finishes the work once.
    assert main([*root, "retrain", "--force", "--json"]) == 0
    outcome = _json(capsys)
    feedback = outcome["feedback"]
    assert isinstance(feedback, dict)
    # The killed run had appended the rows already: none again, and none lost.
    assert feedback["appended"] == 0 and feedback["labelled"] > 0
    manifest = {m.version: m for m in list_versions("adult", project.store)}
    assert manifest[str(outcome["dataset_version"])].rows["in"] == 3000 + feedback["labelled"]
    assert registry.alias(CHAMPION).version == outcome["challenger"]  # type: ignore[union-attr]
