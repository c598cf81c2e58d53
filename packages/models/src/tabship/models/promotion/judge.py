"""Who becomes champion: the gate, with the champion scored on the same holdout; for a retrain
also DeLong's paired test (challenge.py, compare.py); then the alias moves, and what the run logs
about them. job.py calls these between training and the registry.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import TYPE_CHECKING

import mlflow

from tabship.models.config import METRICS, RunConfig
from tabship.models.promotion.gate import GateResult, evaluate_gate
from tabship.models.registry.registry import CHAMPION, Registry, VersionInfo
from tabship.models.training.data import TrainingData
from tabship.models.training.fit import predict
from tabship.models.training.metrics import Scores, binary_metrics

if TYPE_CHECKING:
    from tabship.models.promotion.paired import Difference
    from tabship.models.promotion.verdict import Challenge, Verdict
    from tabship.models.training.fit import Trained


def scoring_tags(data: TrainingData, threshold: float) -> dict[str, str]:
    """What decides a model's holdout metrics besides the model: the rows, threshold and code."""
    return {
        "tabship.dataset_version": data.manifest.version,
        "tabship.threshold": repr(threshold),
        "tabship.features_version": importlib.metadata.version("tabship-features"),
        "tabship.models_version": importlib.metadata.version("tabship-models"),
    }


def score_champion(
    registry: Registry, data: TrainingData, threshold: float
) -> dict[str, float] | None:
    """The current champion's metrics on this holdout, so the comparison is like for like.

    When the champion was scored on this very dataset version, at this threshold and by this code,
    its logged holdout metrics are exactly what a re-score would give (training and scoring are
    deterministic), so they are reused; otherwise the champion is loaded and re-scored.
    """
    champion = registry.alias(CHAMPION)
    if champion is None:
        return None
    metrics, tags = registry.run_record(champion.run_id)
    logged = {m: metrics.get(f"holdout_{m}") for m in METRICS}
    wanted = scoring_tags(data, threshold)
    if all(tags.get(k) == v for k, v in wanted.items()) and None not in logged.values():
        return {m: float(v) for m, v in logged.items() if v is not None}
    return binary_metrics(data.y_holdout, champion_scores(registry, champion, data), threshold)


def champion_scores(registry: Registry, champion: VersionInfo, data: TrainingData) -> Scores:
    """The champion's scores on this holdout, row by row, for the paired comparison."""
    booster, pipeline = registry.load(champion)
    return predict(booster, pipeline.transform(data.holdout).matrix)


def baseline_gains(
    run: RunConfig, data: TrainingData, candidate: Scores, baseline: Scores
) -> dict[str, Difference]:
    """Each of the gate's baseline margin metrics as a paired `candidate - baseline` difference
    on the holdout, with its 95% interval (each at 95%: every check stands on its own)."""
    from tabship.models.promotion.paired import compare

    metrics = tuple(run.gate.baseline_margin)
    found = compare(data.y_holdout, baseline, candidate, run.train.threshold, metrics=metrics,
                    seed=run.train.seed, secondary_level=None)  # fmt: skip
    return {gap.metric: gap for gap in found}


def judge(
    run: RunConfig,
    data: TrainingData,
    trained: Trained,
    baseline: Mapping[str, Difference] | None,
    registry: Registry,
    champion: VersionInfo | None,
    challenge: Challenge | None,
) -> tuple[GateResult, Verdict | None]:
    """The gate, and for a retrain the paired comparison with the champion and the verdict.
    BASELINE: `baseline_gains`' paired differences, when the gate names a baseline."""
    threshold = run.train.threshold
    scores = None
    if challenge is None:
        champion_metrics = score_champion(registry, data, threshold)
    elif champion is not None:
        scores = champion_scores(registry, champion, data)
        champion_metrics = binary_metrics(data.y_holdout, scores, threshold)
    else:
        champion_metrics = None
    gate = evaluate_gate(
        run.gate,
        trained.holdout,
        champion_metrics,
        trained.groups,
        baseline,
    )
    if challenge is None:
        return gate, None
    from tabship.models.promotion.delong import compare_auc
    from tabship.models.promotion.verdict import decide

    comparison = None
    if scores is not None:
        comparison = compare_auc(data.y_holdout, scores, trained.score, challenge.rule)
    verdict = decide(challenge, gate, comparison)
    if champion is not None:
        verdict.extra["champion_version"] = champion.version
    return gate, verdict


def settle(
    registry: Registry,
    version: VersionInfo,
    gate_passed: bool,
    verdict: Verdict | None,
    champion: VersionInfo | None,
) -> str:
    """Move the aliases: the run's status (promoted, gate_failed, refused or superseded)."""
    if verdict is None:  # a plain train: the gate decides, if the champion is still the one seen
        if not gate_passed:
            return "gate_failed"
        return "promoted" if registry.promote_if_champion(version, champion) else "superseded"
    if verdict.promote and registry.promote_if_champion(version, champion):
        return "promoted"
    registry.set_challenger(version)
    if verdict.promote:  # another run moved the champion after this one compared with it
        verdict.reasons.append("superseded: the champion changed while this run was deciding")
        return "superseded"
    return "refused"


def log_challenge(challenge: Challenge, verdict: Verdict) -> None:
    """The verdict, and the monitor report that caused the retrain, with the run."""
    mlflow.set_tags(
        {
            "tabship.trigger": challenge.trigger,
            "tabship.verdict": "promote" if verdict.promote else "refuse",
        }
    )
    mlflow.log_dict(verdict.to_dict(), "retrain/verdict.json")
    if challenge.report is not None:
        mlflow.log_dict(challenge.report, "retrain/trigger_report.json")
    if verdict.comparison is not None:
        c = verdict.comparison
        mlflow.log_metrics(
            {
                "champion_holdout_roc_auc": c.champion_auc,
                "roc_auc_gain": c.difference,
                "roc_auc_gain_lower_bound": c.lower_bound,
                "roc_auc_gain_p_value": c.p_value,
            }
        )
