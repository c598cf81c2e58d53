"""The model card: Markdown and JSON for each registered version, with ROC and calibration plots."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from tabship.models.result import param_text
from tabship.models.training.charts import Series, line_chart
from tabship.models.training.metrics import GroupReport, Labels, Scores


@dataclass(frozen=True)
class CardFacts:
    """Everything the card states, in one JSON-ready record."""

    model_name: str
    model_version: str
    run_id: str
    dataset: str
    dataset_version: str
    schema_hash: str
    config_hash: str
    git_commit: str
    packages: dict[str, str]
    best_iteration: int
    cv_mean: dict[str, float]
    cv_std: dict[str, float]
    holdout: dict[str, float]
    holdout_rows: int
    train_rows: int
    groups: list[dict[str, Any]]
    feature_importance: dict[str, float]
    gate: list[dict[str, Any]]
    gate_passed: bool
    # The gate's baseline, trained on the same split: {"model", "detail", "holdout"}, or None.
    baseline: dict[str, Any] | None = None
    # A retrain's verdict: {"promote", "reasons", "trigger", "comparison", ...}, or None.
    challenge: dict[str, Any] | None = None
    # The hyperparameter search (tuning/log.py's search_for_card), or None without one.
    search: dict[str, Any] | None = None


def groups_for_card(reports: Sequence[GroupReport]) -> list[dict[str, Any]]:
    """Group reports in the card's JSON form."""
    return [asdict(r) for r in reports]


def _diagonal(label: str) -> Series:
    return Series(label, [0.0, 1.0], [0.0, 1.0], colour="#888888", dashed=True)


def _plots(folder: Path, y: Labels, score: Scores) -> list[str]:
    fpr, tpr, _ = roc_curve(y, score)
    observed, predicted = calibration_curve(y, score, n_bins=10, strategy="quantile")
    charts = {
        "roc.svg": line_chart(
            "ROC (holdout)",
            "false positive rate",
            "true positive rate",
            [Series("model", fpr, tpr), _diagonal("chance")],
        ),
        "calibration.svg": line_chart(
            "Calibration (holdout)",
            "mean predicted",
            "observed positive rate",
            [
                Series("model", predicted, observed, markers=True),
                _diagonal("perfect"),
            ],
        ),
    }
    for name, text in charts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return list(charts)


def _markdown(facts: CardFacts, plots: Sequence[str]) -> str:
    def row(metrics: Mapping[str, float]) -> str:
        return " | ".join(
            f"{metrics[m]:.4f}" for m in ("roc_auc", "log_loss", "accuracy", "f1", "brier")
        )

    lines = [
        f"# Model card: {facts.model_name} version {facts.model_version}",
        "",
        f"- MLflow run: `{facts.run_id}`",
        f"- Dataset: `{facts.dataset}` version `{facts.dataset_version}`, "
        f"schema hash `{facts.schema_hash}`",
        f"- Training rows: {facts.train_rows}; holdout rows: {facts.holdout_rows}",
        f"- Config hash: `{facts.config_hash}`; git commit: `{facts.git_commit}`",
        f"- Boosting rounds (chosen by CV): {facts.best_iteration}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in sorted(facts.packages.items())),
        "",
        "## Metrics",
        "",
        "| | ROC-AUC | log loss | accuracy | F1 | Brier |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| CV mean | {row(facts.cv_mean)} |",
        f"| CV std | {row(facts.cv_std)} |",
        f"| holdout | {row(facts.holdout)} |",
        *(
            [
                f"| baseline on the holdout | {row(facts.baseline['holdout'])} |",
                "",
                f"The baseline is the gate's `{facts.baseline['model']}` "
                f"({facts.baseline['detail']}), trained on the same training rows.",
                *_gain_lines(facts.baseline.get("gains") or {}),
            ]
            if facts.baseline
            else []
        ),
        "",
        *_search_lines(facts.search),
        f"## Quality gate: {'passed' if facts.gate_passed else 'FAILED'}",
        "",
        "| check | value | limit | result |",
        "| --- | --- | --- | --- |",
        *(
            f"| {c['name']} | {c['value']:.4f} | {c['limit']:.4f} | "
            f"{'pass' if c['passed'] else 'FAIL'} |"
            for c in facts.gate
        ),
        "",
        *_challenge_lines(facts.challenge),
        "## Groups (holdout)",
        "",
        "Groups smaller than the configured minimum are listed but not gated, and left out of the gaps."
        if facts.groups
        else "No groups are configured (`groups` in the dataset's train.yaml).",
    ]
    for report in facts.groups:
        gaps = ", ".join(f"{k} {v:.4f}" for k, v in report["largest_gap"].items())
        lines += [
            "",
            f"### {report['attribute']} (largest gap: {gaps})",
            "",
            "| group | rows | positive rate | ROC-AUC | accuracy | F1 | gated |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['group']} | {r['rows']} | {r['positive_rate']:.3f} | {r['roc_auc']:.4f} | "
            f"{r['accuracy']:.4f} | {r['f1']:.4f} | {'yes' if r['gated'] else 'no'} |"
            for r in report["rows"]
        ]
    lines += ["", "## Feature importance (gain, share of total)", ""]
    lines += [f"- {name}: {share:.3f}" for name, share in facts.feature_importance.items()]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)


def _gain_lines(gains: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The candidate minus the baseline, paired on the holdout rows, with its interval."""
    if not gains:
        return []
    return ["", "Gain over the baseline (candidate minus baseline on the same rows; the gate "
            "fails only an interval wholly below the margin):", "",
            *(f"- {metric}: {gap['difference']:+.4f} ({gap['level']:.0%} interval "
              f"{gap['low']:+.4f} to {gap['high']:+.4f}, {gap['method']})"
              for metric, gap in gains.items())]  # fmt: skip


def _search_lines(search: Mapping[str, Any] | None) -> list[str]:
    """The search: its trials, the best parameters, which mattered, and its optimism."""
    if search is None:
        return []
    counts, metric = search["counts"], search["metric"]
    stopped = "its time budget" if search["stopped"] == "time" else "its trial budget"
    lines = [
        "## Hyperparameter search",
        "",
        f"- Study `{search['study']}`: {counts['complete']} complete and {counts['pruned']} "
        f"pruned trials of {search['budget_trials']}, {counts['fail']} cut short; stopped by "
        f"{stopped} ({search['seconds']:.1f} s in this run).",
    ]
    if search["best_value"] is None:
        return [*lines, "- No trial completed: trained with train.yaml's `params:`.", ""]
    lines += [
        f"- Best CV {metric}: {search['best_value']:.4f} (trial {search['best_trial']}); "
        f"holdout {metric}: {search['holdout_value']:.4f}; the search's optimism "
        f"(CV minus holdout, for a loss the reverse): {search['optimism']:+.4f}.",
        "",
        "| parameter | best | searched | importance (fANOVA) |",
        "| --- | --- | --- | --- |",
    ]
    importance = search["importance"]
    for name in sorted(search["space"], key=lambda n: -importance.get(n, 0.0)):
        bounds = search["space"][name]
        shown = param_text(search["best_params"].get(name))
        scale = ", log" if bounds.get("log") else ""
        share = f"{importance[name]:.2f}" if name in importance else "-"
        lines.append(f"| {name} | {shown} | {bounds['low']} to {bounds['high']}{scale} | {share} |")
    return [*lines, ""]


def _challenge_lines(challenge: Mapping[str, Any] | None) -> list[str]:
    """The retrain's verdict: promoted or refused, and why."""
    if challenge is None:
        return []
    verdict = "promoted" if challenge["promote"] else "REFUSED: the champion stays"
    lines = [
        f"## Challenger against the champion: {verdict}",
        "",
        f"Retrained on trigger `{challenge['trigger']}`.",
        "",
        *(f"- {reason}" for reason in challenge["reasons"]),
        "",
    ]
    return lines


def write_card(folder: Path, facts: CardFacts, y: Labels, score: Scores) -> Path:
    """Write model_card.md, model_card.json and the plots into FOLDER, all or nothing."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        plots = _plots(staging, y, score)
        (staging / "model_card.json").write_text(
            json.dumps(asdict(facts), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        (staging / "model_card.md").write_text(_markdown(facts, plots), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        staging.replace(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder / "model_card.md"


def importance_shares(names: Sequence[str], gains: Sequence[float]) -> dict[str, float]:
    """Each feature's share of the total gain, largest first."""
    total = float(np.sum(gains)) or 1.0
    pairs = sorted(zip(names, gains, strict=True), key=lambda p: -p[1])
    return {name: float(gain) / total for name, gain in pairs}
