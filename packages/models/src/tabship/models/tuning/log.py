"""A search, as the MLflow run and the model card record it.

The trials go into one table of the training run (`tuning/trials.json`, one row per trial), not
into nested runs: 30 to 100 child runs a training would crowd the experiment, every run list
and cache lookup would have to skip them, and each costs a run's writes on the server.
"""

from __future__ import annotations

from typing import Any

import mlflow

from tabship.models.tuning.result import SearchResult

TRIALS_ARTIFACT = "tuning/trials.json"
SEARCH_ARTIFACT = "tuning/search.json"


def trials_table(result: SearchResult) -> dict[str, list[Any]]:
    """One column per field and per parameter, one row per trial."""
    names = sorted({name for t in result.trials for name in t.params})
    return {
        "number": [t.number for t in result.trials],
        "state": [t.state for t in result.trials],
        f"cv_{result.metric}": [t.value for t in result.trials],
        "rounds": [t.rounds for t in result.trials],
        "seconds": [t.seconds for t in result.trials],
        **{f"param.{n}": [t.params.get(n) for t in result.trials] for n in names},
    }


def log_search(result: SearchResult, holdout: float) -> None:
    """RESULT with the active run: the study's name, its figures, the trials table."""
    mlflow.set_tag("tabship.study", result.study)
    figures = {
        "tune_trials_complete": float(result.count("complete")),
        "tune_trials_pruned": float(result.count("pruned")),
        "tune_seconds": result.seconds,
    }
    optimism = result.optimism(holdout)
    if result.best_value is not None and optimism is not None:
        figures |= {f"tune_best_cv_{result.metric}": result.best_value, "tune_optimism": optimism}
    mlflow.log_metrics(figures)
    mlflow.log_table(data=trials_table(result), artifact_file=TRIALS_ARTIFACT)
    mlflow.log_dict(result.to_dict(), SEARCH_ARTIFACT)


def search_for_card(result: SearchResult, holdout: dict[str, float]) -> dict[str, Any]:
    """What the card says about the search (training/card.py renders it): the search's record
    without its trials (they are the MLflow table), with the holdout's value and the optimism."""
    found = {k: v for k, v in result.to_dict().items() if k != "trials"}
    value = holdout[result.metric]
    return {**found, "holdout_value": value, "optimism": result.optimism(value)}
