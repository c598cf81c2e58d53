"""The training job on small real data: registry, aliases, gate, cache, rollback, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tabship.data import project_at
from tabship.models import Registry, fit_model, load_run_config, train
from tabship.models.cli import EXIT_GATE, main

from ..conftest import training_data


def registry_of(root: Path) -> Registry:
    config = load_run_config(project_at(root)).train
    return Registry(project_at(root), config.model_name, config.experiment)


def test_first_run_registers_and_promotes_then_the_rerun_is_cached(small_project: Path) -> None:
    first = train(small_project)
    assert first.status == "promoted"
    assert (first.model_version, first.champion, first.previous) == ("1", "1", None)
    assert Path(first.card_path).is_file()
    card = json.loads((Path(first.card_path).parent / "model_card.json").read_text())
    assert card["dataset_version"] == first.dataset_version
    assert {g["attribute"] for g in card["groups"]} == {"sex", "race", "age_band"}
    for chart in ("roc.svg", "calibration.svg"):
        svg = (Path(first.card_path).parent / chart).read_text()
        assert svg.startswith("<svg") and svg.count("<polyline") == 2
        assert f"![{chart}]({chart})" in Path(first.card_path).read_text()
    registry = registry_of(small_project)
    assert registry.alias("candidate").version == "1"  # type: ignore[union-attr]

    again = train(small_project)
    assert again.cached
    assert again.run_id == first.run_id
    assert len(registry.versions()) == 1

    forced = train(small_project, force=True)
    assert not forced.cached
    assert (forced.model_version, forced.champion, forced.previous) == ("2", "2", "1")


def test_cli_train_json_and_rollback(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ["--root", str(small_project)]
    assert main([*root, "train", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["champion"] == "1"
    assert main([*root, "train", "--force"]) == 0
    out = capsys.readouterr().out
    assert "version 2: promoted" in out
    assert "model card:" in out
    assert main([*root, "rollback", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"champion": "1", "previous": "2"}
    assert main([*root, "evaluate", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["model_version"] == "1"
    assert evaluated["holdout_rows"] == 1000
    assert main([*root, "versions", "--json"]) == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert [(v["version"], v["aliases"]) for v in versions] == [
        ("2", ["candidate", "previous"]),
        ("1", ["champion"]),
    ]


def test_a_failed_gate_exits_3_with_a_table_and_keeps_the_champion(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ["--root", str(small_project)]
    assert main([*root, "train"]) == 0
    gate = small_project / "configs" / "datasets" / "adult" / "gate.yaml"
    gate.write_text(yaml.safe_dump({"floors": {"roc_auc": 0.999}}))
    capsys.readouterr()
    assert main([*root, "train"]) == EXIT_GATE
    captured = capsys.readouterr()
    assert "floor roc_auc" in captured.out
    assert "FAIL" in captured.out
    assert "quality gate failed (floor roc_auc)" in captured.err
    assert registry_of(small_project).alias("champion").version == "1"  # type: ignore[union-attr]


@pytest.mark.parametrize("point", ["trained", "logged", "registered", "carded"])
def test_a_run_killed_at_any_point_leaves_the_champion(small_project: Path, point: str) -> None:
    assert train(small_project).champion == "1"
    env = {**os.environ, "TABSHIP_FAULT_AT": point}
    killed = subprocess.run(
        [sys.executable, "-m", "tabship.models.cli", "--root", str(small_project), "train",
         "--force"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert killed.returncode == 137, killed.stderr
    registry = registry_of(small_project)
    assert registry.alias("champion").version == "1"  # type: ignore[union-attr]
    assert registry.alias("previous") is None
    # The next run completes normally.
    assert train(small_project, force=True).champion in {"2", "3"}


def test_same_data_config_and_seed_give_a_byte_identical_model(small_project: Path) -> None:
    run = load_run_config(project_at(small_project))
    data = training_data(project_at(small_project))
    first = fit_model(data, run.features, run.train, lambda _: None)
    second = fit_model(data, run.features, run.train, lambda _: None)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    assert first.pipeline.to_json() == second.pipeline.to_json()
    assert first.cv == second.cv


def test_a_bad_config_is_one_clear_line(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (small_project / "configs" / "datasets" / "adult" / "train.yaml").write_text("folds: two\n")
    assert main(["--root", str(small_project), "train"]) == 1
    err = capsys.readouterr().err
    assert "train.yaml: missing field 'seed'" in err
    assert "Traceback" not in err


def test_the_champion_s_logged_holdout_metrics_equal_a_rescore(small_project: Path) -> None:
    """The gate reuses the champion's logged holdout metrics on the same dataset version; they
    must be exactly what loading and re-scoring the champion gives."""
    from tabship.models import binary_metrics, predict
    from tabship.models.promotion.judge import score_champion

    train(small_project)
    project = project_at(small_project)
    threshold = load_run_config(project).train.threshold
    registry, data = registry_of(small_project), training_data(project)
    reused = score_champion(registry, data, threshold)
    champion = registry.alias("champion")
    assert reused is not None and champion is not None
    booster, pipeline = registry.load(champion)
    rescored = binary_metrics(
        data.y_holdout, predict(booster, pipeline.transform(data.holdout).matrix), threshold
    )
    assert reused == rescored
    # Another threshold is not what was logged: the champion is re-scored.
    other = score_champion(registry, data, 0.4)
    assert other is not None and other["accuracy"] != reused["accuracy"]


def test_a_corrupted_registry_is_one_line_not_a_cached_success(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28, point 10: the cached answer trusted its record over the registry."""
    root = ["--root", str(small_project)]
    assert main([*root, "train"]) == 0
    database = small_project / "mlruns" / "mlflow.db"
    database.write_bytes(b"not a database, " * 4096)
    capsys.readouterr()
    assert main([*root, "train"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"error: {database}: the registry cannot be read" in err
    # Forced, it fails as fast: the registry is opened before any training starts.
    assert main([*root, "train", "--force"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # no progress line: nothing was trained
    assert "the registry cannot be read" in err
