"""The default dataset, end to end: UCI Adult from data/raw through its real data config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import tabship.data as td

if TYPE_CHECKING:
    from packages.data.tests.conftest import Checks, RunCli

REPO = Path(__file__).resolve().parents[4]
CONFIG = REPO / "configs" / "datasets" / "adult" / "data.yaml"


@pytest.fixture(scope="module")
def adult_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, td.IngestResult]:
    store = tmp_path_factory.mktemp("adult_store")
    return store, td.ingest("adult", config=CONFIG, store=store)


def test_every_adult_row_is_read_and_accounted_for(
    adult_store: tuple[Path, td.IngestResult], check: Checks
) -> None:
    _, result = adult_store
    assert result.status == "created"
    assert result.rows_in == 32_561 + 16_281
    assert result.rows_accepted + result.rows_quarantined == result.rows_in
    report = check.accounted(result.report_path)
    by_file = {Path(s["path"]).name: s for s in report["sources"]}
    assert by_file["adult.data"]["rows_in"] == 32_561
    assert by_file["adult.test"]["rows_in"] == 16_281
    # The test file's `|1x3 Cross validator` line is a comment, and each file ends in a blank line.
    assert by_file["adult.test"]["lines_comment"] == 1
    assert by_file["adult.test"]["comment_lines_seen"] == ["|1x3 Cross validator"]
    assert by_file["adult.data"]["lines_blank"] == by_file["adult.test"]["lines_blank"] == 1


def test_report_says_how_question_marks_were_treated(
    adult_store: tuple[Path, td.IngestResult],
) -> None:
    _, result = adult_store
    missing = result.report["missing_values"]
    assert missing["tokens"] == ["?"]
    assert "null" in missing["treatment"]
    by_column = missing["by_column"]
    assert {c: v["rows"] for c, v in by_column.items()} == {
        "native-country": 857,
        "occupation": 2_809,
        "workclass": 2_799,
    }
    assert all(v["nullable_in_schema"] for v in by_column.values())
    stripped = result.report["coercions"]["label_suffix_stripped"]
    assert stripped["rows"] == 16_281 and stripped["suffix"] == "."


def test_official_test_file_is_the_holdout(adult_store: tuple[Path, td.IngestResult]) -> None:
    store, result = adult_store
    stored = td.load_dataset("adult", store=store)
    frame, manifest = stored.frame, stored.manifest
    assert len(frame) == result.rows_accepted
    counts = frame["split"].value_counts().to_dict()
    assert counts == {"train": 32_561, "holdout": 16_281}
    assert set(frame.loc[frame["split"] == "holdout", "source_file"].map(_name)) == {"adult.test"}
    assert set(frame["income"]) == {"<=50K", ">50K"}
    assert manifest.rows == {
        "in": 48_842,
        "accepted": 48_842,
        "quarantined": 0,
        "train": 32_561,
        "holdout": 16_281,
    }
    assert round((frame["income"] == ">50K").mean(), 3) == 0.239
    holdout = td.load_dataset("adult", store=store, split="holdout").frame
    assert len(holdout) == 16_281
    # Adult's two files share some identical rows; the report counts them rather than hiding it.
    in_both = set(holdout["row_id"]) & set(frame.loc[frame["split"] == "train", "row_id"])
    assert result.report["rows_in_both_splits"] == len(in_both) == 23
    assert "23 distinct rows are in both splits" in result.summary()


def _name(path: Any) -> str:
    return Path(str(path)).name


def test_manifest_records_hashes_and_versions(adult_store: tuple[Path, td.IngestResult]) -> None:
    store, result = adult_store
    manifest = json.loads((result.manifest_path or Path()).read_text())
    assert manifest["version"] == result.version == manifest["content_hash"][:16]
    assert manifest["tabship_data_version"] == td.__version__
    assert len(manifest["schema_hash"]) == 64
    shas = {Path(s["path"]).name: s["sha256"] for s in manifest["sources"]}
    assert set(shas) == {"adult.data", "adult.test"}
    assert (store / "adult" / "latest").read_text().strip() == result.version


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(folder.rglob("*"))
    }


def test_reingesting_identical_input_writes_nothing(
    adult_store: tuple[Path, td.IngestResult], run_cli: RunCli
) -> None:
    store, first = adult_store
    before = _tree(store)
    result = run_cli(["ingest", "--config", str(CONFIG), "--store", str(store), "--json"])
    assert result.code == 0, result.err
    payload = result.json()
    assert payload["status"] == "unchanged"
    assert payload["dataset_version"] == first.version
    assert payload["rows_in"] == 48_842
    for key in ("processed_path", "quarantine_path", "report_path"):
        assert Path(payload[key]).is_file()
    assert _tree(store) == before


def test_show_and_versions(adult_store: tuple[Path, td.IngestResult], run_cli: RunCli) -> None:
    store, first = adult_store
    shown = run_cli(["show", "--config", str(CONFIG), "--store", str(store), "--json"]).json()
    assert shown["version"] == first.version and shown["rows"]["in"] == 48_842
    human = run_cli(["show", "--dataset", "adult", "--store", str(store)])
    assert human.code == 0 and first.version in human.out
    listed = run_cli(["versions", "--dataset", "adult", "--store", str(store), "--json"]).json()
    assert listed["latest"] == first.version
    assert [v["version"] for v in listed["versions"]] == [first.version]


def test_store_defaults_to_env_then_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABSHIP_DATA_STORE", str(tmp_path / "elsewhere"))
    assert td.default_store() == tmp_path / "elsewhere"
    monkeypatch.delenv("TABSHIP_DATA_STORE")
    monkeypatch.chdir(REPO / "packages")
    assert td.default_store() == REPO / "data" / "processed"
    assert os.fspath(td.load_config().config_path) == os.fspath(CONFIG)


def test_adult_unknown_category_and_label_are_quarantined(tmp_path: Path, check: Checks) -> None:
    good = (REPO / "data" / "raw" / "adult.data").read_text().splitlines()[:50]
    mars = good[0].replace("United-States", "Mars")
    maybe = good[1].replace("<=50K", "maybe")
    source = tmp_path / "batch.data"
    source.write_text("\n".join([*good, mars, maybe]) + "\n")
    result = td.ingest("adult", [source], config=CONFIG, store=tmp_path / "store")
    assert (result.rows_in, result.rows_quarantined) == (52 + 16_281, 2)
    check.accounted(result.report_path)
    reasons = [r["reasons"] for r in check.records(result.report_path)]
    assert reasons == [
        [{"column": "native-country", "check": "unknown_category", "value": "Mars"}],
        [{"column": "income", "check": "unknown_label", "value": "maybe"}],
    ]
