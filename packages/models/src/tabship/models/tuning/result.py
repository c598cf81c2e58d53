"""What a search found, as one JSON-ready record: for `tune --json`, the MLflow run, the card."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from tabship.models.config import TrainConfig
from tabship.models.result import param_text


@dataclass(frozen=True)
class TrialRecord:
    """One trial: its state (complete, pruned, fail, running), CV value, parameters, time and
    the rounds its CV's early stopping chose."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    seconds: float | None
    rounds: int | None


@dataclass(frozen=True)
class SearchResult:
    """A study after a run of the search; `stopped` is `trials` (its budget reached) or `time`."""

    study: str
    metric: str
    direction: str
    budget_trials: int
    budget_seconds: float
    space: dict[str, dict[str, Any]]
    trials: list[TrialRecord]
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any]
    importance: dict[str, float]
    new_trials: int
    stopped: str
    seconds: float

    def count(self, state: str) -> int:
        return sum(1 for t in self.trials if t.state == state)

    def tuned(self, config: TrainConfig) -> TrainConfig:
        """CONFIG with the best trial's parameters over its own (unchanged without one)."""
        return replace(config, params={**config.params, **self.best_params})

    def optimism(self, holdout: float) -> float | None:
        """Best CV value minus the holdout's, signed so that positive means the search was
        optimistic (for a loss, holdout minus CV)."""
        if self.best_value is None:
            return None
        gap = self.best_value - holdout
        return round(gap if self.direction == "maximize" else -gap, 6)

    def summary(self) -> str:
        best = (
            f"best CV {self.metric} {self.best_value:.4f} (trial {self.best_trial})"
            if self.best_value is not None
            else "no complete trial: params as written"
        )
        return (
            f"search {self.study}: {self.count('complete')} complete, {self.count('pruned')} "
            f"pruned of {self.budget_trials} ({self.new_trials} new, stopped by "
            f"{'its time budget' if self.stopped == 'time' else 'its trial budget'}, "
            f"{self.seconds:.1f} s); {best}"
        )

    def report(self) -> str:
        """The summary, then the best parameters with what each mattered (fANOVA)."""
        lines = [self.summary()]
        for name, value in sorted(self.best_params.items()):
            share = self.importance.get(name)
            lines.append(f"  {name:<20} {param_text(value):>10}" + (f"  importance {share:.2f}"
                                                         if share is not None else ""))  # fmt: skip
        if self.best_params:
            lines.append("train uses these: invoke train (its CV and holdout follow)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["counts"] = {s: self.count(s) for s in ("complete", "pruned", "fail", "running")}
        return found
