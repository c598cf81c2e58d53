"""What a training run did. A light module: the cache and the CLI read it without heavy imports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tabship.models.config import METRICS  # light: no heavy import


@dataclass
class TrainResult:
    """What a training run did; the CLI prints it as a table or as JSON."""

    status: str  # promoted | gate_failed; a retrain's challenger: refused | superseded; reviewed
    model_name: str
    model_version: str
    run_id: str
    dataset_version: str
    cv_mean: dict[str, float]
    cv_std: dict[str, float]
    holdout: dict[str, float]
    best_iteration: int
    gate_passed: bool
    gate_table: str
    gate_failures: list[str]
    champion: str | None
    previous: str | None
    card_path: str
    tracking_uri: str
    cached: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    verdict: dict[str, Any] | None = None  # a retrain's comparison with the champion
    # The search (train.yaml `tune:`), as the card states it: tuning/log.py's search_for_card.
    search: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def metrics_table(rows: dict[str, dict[str, float]]) -> str:
    """A metric a column, a row per LABEL: CV mean, CV std, holdout."""
    lines = [f"{'':10}" + "".join(f"{n:>10}" for n in METRICS)]
    for label, metrics in rows.items():
        lines.append(f"{label:10}" + "".join(f"{metrics[n]:10.4f}" for n in METRICS))
    return "\n".join(lines)


def train_summary(result: TrainResult) -> str:
    """A training run (or its cached record) in a few lines for people."""
    origin = "cached run (use --force to retrain)" if result.cached else "new run"
    aliases = f"champion: version {result.champion}; previous: version {result.previous}"
    if result.cached:
        # The record is not refreshed by later runs or rollbacks: `versions` shows the registry.
        aliases += " (when that run finished; now: tabship-models versions)"
    table = {"CV mean": result.cv_mean, "CV std": result.cv_std, "holdout": result.holdout}
    return "\n".join([
        f"{result.model_name} version {result.model_version}: {result.status} ({origin})",
        f"dataset version {result.dataset_version}, {result.best_iteration} rounds",
        metrics_table(table),
        *([search_line(result.search)] if result.search else []),
        result.gate_table,
        aliases,
        f"model card: {result.card_path}",
        f"run {result.run_id} in {result.tracking_uri} ({result.seconds:.1f}s)",
    ])  # fmt: skip


def param_text(value: Any) -> str:
    """A searched parameter's value as the summaries and the card print it: 4 significant digits
    for a float, whole numbers as they are."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def search_line(search: dict[str, Any]) -> str:
    """The search in one line: trials, the best parameters and its optimism."""
    counts, best = search["counts"], search["best_params"]
    params = ", ".join(f"{k}={param_text(v)}" for k, v in sorted(best.items()))
    optimism = search.get("optimism")
    gap = f"; CV minus holdout {optimism:+.4f}" if optimism is not None else ""
    return (
        f"search: {counts['complete']} complete, {counts['pruned']} pruned of "
        f"{search['budget_trials']} trials (stopped by {search['stopped']}){gap}; "
        f"best: {params or 'none (params as written)'}"
    )
