"""The review job on a small project: a candidate alone, then a changed parameter against the
champion, with no alias moved, the configs' diff, the cache, and bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tabship.data import project_at
from tabship.models import CHAMPION, Registry, load_run_config, train
from tabship.models.cli import EXIT_FAILED, main
from tabship.models.jobs.review import review


def _registry(root: Path) -> Registry:
    config = load_run_config(project_at(root)).train
    return Registry(project_at(root), config.model_name, config.experiment)


def _set_param(root: Path, name: str, value: object) -> None:
    path = root / "configs" / "datasets" / "adult" / "train.yaml"
    config = yaml.safe_load(path.read_text())
    config["params"][name] = value
    path.write_text(yaml.safe_dump(config))


def test_a_candidate_without_a_champion_is_shown_alone(small_project: Path) -> None:
    found = review(project_at(small_project))
    assert found.champion is None and found.scorings == []
    assert "has no champion to compare with" in found.summary()
    assert _registry(small_project).alias(CHAMPION) is None  # the review promoted nothing


def test_a_changed_parameter_against_the_champion(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    champion = train(small_project)
    registry = _registry(small_project)
    _set_param(small_project, "num_leaves", 7)
    out = small_project / "review"
    code = main(["--root", str(small_project), "review", "--json", "--out", str(out)])
    document = json.loads(capsys.readouterr().out)  # exactly one JSON document
    assert code == (0 if document["verdict"] == "promote" else 3)
    candidate = document["candidate"]["version"]
    assert candidate != champion.model_version
    assert registry.alias(CHAMPION).version == champion.model_version  # type: ignore[union-attr]
    assert registry.alias("candidate").version == champion.model_version  # type: ignore[union-attr]
    assert registry.run_record(document["candidate"]["run_id"])[1]["tabship.review"] == "true"
    (scoring,) = document["scorings"]  # one dataset version: one scoring
    assert scoring["rows"] == 1000
    assert [d["metric"] for d in scoring["differences"]] == [
        "roc_auc", "log_loss", "accuracy", "f1", "brier"]  # fmt: skip
    assert {g["attribute"] for g in scoring["groups"]} == {"sex", "race", "age_band"}
    assert any("+  num_leaves: 7" in line for line in document["config_diff"]["train.yaml"])
    markdown = (out / "review.md").read_text()
    assert markdown.startswith("<!-- tabship-review -->") and document["summary"] in markdown
    page = (out / "review.html").read_text()
    assert page.count("<svg") == 2 and 'id="verdict"' in page and "num_leaves: 7" in page
    # Nothing changed: the same candidate, from the cache; no new version.
    versions = len(registry.versions())
    again = review(project_at(small_project))
    assert again.candidate.version == candidate and len(registry.versions()) == versions
    # A plain train afterwards trains and promotes on its own: the review's run is not its cache.
    assert train(small_project).status in ("promoted", "gate_failed")


def test_against_a_missing_version_is_one_line(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(small_project), "review", "--against", "999"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_FAILED
    assert err.splitlines()[-1] == "error: RegistryError: tabship-adult has no version 999"


def test_another_dataset_version_is_scored_on_both_holdouts(small_project: Path) -> None:
    champion = train(small_project)
    holdout = small_project / "data" / "raw" / "adult.test"
    lines = holdout.read_text().splitlines(True)
    holdout.write_text("".join(lines[:-100]))  # the branch's data: 100 holdout rows fewer
    found = review(project_at(small_project))
    assert found.champion is not None and found.champion.version == champion.model_version
    assert [(s.whose, s.rows) for s in found.scorings] == [
        ("candidate's", 900),
        ("champion's", 1000),
    ]
    assert found.scorings[0].dataset_version != found.scorings[1].dataset_version
    assert any("the dataset versions differ" in note for note in found.notes)
