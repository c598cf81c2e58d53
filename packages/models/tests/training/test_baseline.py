"""The gate's baseline: a simple model on the same split that a candidate must beat by a margin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tabship.data import ConfigError, project_at
from tabship.models import fit_model, gate_config_from_dict, load_run_config, load_training_data
from tabship.models.cli import EXIT_GATE, main
from tabship.models.promotion.gate import evaluate_gate
from tabship.models.promotion.paired import Difference
from tabship.models.training.baseline import fit_baseline


def test_the_gate_config_reads_a_baseline_and_refuses_a_bad_one() -> None:
    gate = gate_config_from_dict(
        {"baseline": {"model": "best_single_feature", "margin": {"roc_auc": 0.01}}}
    )
    assert gate.baseline == "best_single_feature" and gate.baseline_margin == {"roc_auc": 0.01}
    assert gate.floors == {}
    cases: list[tuple[dict[str, object], str]] = [
        ({"baseline": {"model": "svm", "margin": {"roc_auc": 0.01}}}, "baseline.model must be"),
        ({"baseline": {"model": "logistic_regression"}}, "baseline.margin must name"),
        ({"baseline": {"model": "logistic_regression", "margin": {"auc": 1}}}, "unknown metric"),
    ]
    for bad, message in cases:
        with pytest.raises(ConfigError, match=message):
            gate_config_from_dict(bad, "gate.yaml")


def _gap(metric: str, difference: float, half: float) -> Difference:
    return Difference(metric, 0.8, 0.8 + difference, difference, difference - half,
                      difference + half, 0.95, "test")  # fmt: skip


def test_the_candidate_fails_only_when_significantly_short_of_the_margin() -> None:
    gate = gate_config_from_dict(
        {"baseline": {"model": "logistic_regression", "margin": {"roc_auc": 0.01, "brier": 0.0}}}
    )
    candidate = {"roc_auc": 0.85, "brier": 0.15}
    # A small holdout: no better than the baseline, but not shown to fall short either.
    wide = {"roc_auc": _gap("roc_auc", 0.0, 0.04), "brier": _gap("brier", 0.0, 0.01)}
    passed = evaluate_gate(gate, candidate, None, [], wide)
    assert passed.passed and [c.name for c in passed.checks] == [
        "vs baseline roc_auc (gain, 95% upper bound)",
        "vs baseline brier (gain, 95% upper bound)",
    ]
    assert passed.checks[0].value == pytest.approx(0.04)
    # A large holdout: the same point difference is now significantly short of the margin, and
    # a higher Brier score (a loss) is a fall, not a gain.
    narrow = {"roc_auc": _gap("roc_auc", 0.0, 0.003), "brier": _gap("brier", 0.005, 0.002)}
    failed = evaluate_gate(gate, candidate, None, [], narrow)
    assert len(failed.failures) == 2
    assert failed.checks[1].value == pytest.approx(-0.003)
    assert failed.checks[0].limit == pytest.approx(0.01)


def test_both_baselines_train_on_the_same_split_and_lose_to_lightgbm(small_project: Path) -> None:
    project = project_at(small_project)
    run = load_run_config(project)
    data = load_training_data(project, run.data)
    model = fit_model(data, run.features, run.train, lambda _: None).holdout["roc_auc"]
    linear = fit_baseline("logistic_regression", data, run.features, 0.5, 42)
    single = fit_baseline("best_single_feature", data, run.features, 0.5, 42)
    assert 0.75 < single.holdout["roc_auc"] < linear.holdout["roc_auc"] < model
    assert single.detail.startswith("the feature ")
    again = fit_baseline("logistic_regression", data, run.features, 0.5, 42)
    assert again.holdout == linear.holdout  # deterministic


def test_a_baseline_gate_reaches_the_card_and_can_refuse(
    small_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = small_project / "configs" / "datasets" / "adult" / "gate.yaml"
    gate.write_text(
        yaml.safe_dump({"baseline": {"model": "logistic_regression", "margin": {"roc_auc": 0.2}}})
    )
    root = ["--project", str(small_project)]
    assert main([*root, "train", "--json"]) == EXIT_GATE
    result = json.loads(capsys.readouterr().out)
    check = "vs baseline roc_auc (gain, 95% upper bound)"
    assert result["gate_failures"] == [check] and result["champion"] is None
    card = Path(result["card_path"])
    assert "| baseline on the holdout |" in card.read_text()
    assert "Gain over the baseline" in card.read_text()
    facts = json.loads(card.with_name("model_card.json").read_text())
    assert facts["baseline"]["model"] == "logistic_regression"
    assert 0.5 < facts["baseline"]["holdout"]["roc_auc"] < result["holdout"]["roc_auc"]
    gain = facts["baseline"]["gains"]["roc_auc"]
    assert gain["low"] < gain["difference"] < gain["high"] < 0.2  # short of the margin
    assert gain["difference"] == pytest.approx(
        result["holdout"]["roc_auc"] - facts["baseline"]["holdout"]["roc_auc"]
    )
