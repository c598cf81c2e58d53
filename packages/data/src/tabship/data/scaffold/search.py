"""The hyperparameter search a dataset's train.yaml starts with, sized to its training rows.

`tabship-data init` writes it out for the file it reads, and tabship.models uses the same rule
when a train.yaml's `tune:` has no `space:`, so the two never disagree. Parameters made for
32,000 rows overfit 800 (a leaf of 20 rows is 2.5% of them), so the bounds on leaves and rows a
leaf follow the row count; the rest are the usual LightGBM ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SearchProposal:
    """A trial budget, a time budget, and a space: name -> {low, high[, log]}; whole-number
    bounds mean a whole-number parameter."""

    trials: int
    timeout_seconds: int
    space: dict[str, dict[str, Any]]


def propose_search(train_rows: int) -> SearchProposal:
    """The search for a dataset with TRAIN_ROWS training rows."""
    rows = max(int(train_rows), 100)
    leaves_high = max(8, min(256, rows // 20))  # 800 rows: 40 leaves; 32,000: 256
    leaf_rows_low = max(2, rows // 5000)
    leaf_rows_high = max(20, min(1000, rows // 10))  # 800 rows: 80; 32,000: 1,000
    space: dict[str, dict[str, Any]] = {
        "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
        "num_leaves": {"low": 4, "high": leaves_high, "log": True},
        "min_data_in_leaf": {"low": leaf_rows_low, "high": leaf_rows_high, "log": True},
        "feature_fraction": {"low": 0.5, "high": 1.0},
        "lambda_l2": {"low": 0.001, "high": 10.0, "log": True},
        "cat_smooth": {"low": 1.0, "high": 100.0, "log": True},
    }
    # Each trial is one k-fold CV: about a second a trial at 1,000 rows, a minute at 1M rows.
    trials = 30 if rows <= 200_000 else 20
    timeout = 300 if rows <= 50_000 else 1800
    return SearchProposal(trials=trials, timeout_seconds=timeout, space=space)


def search_yaml(train_rows: int) -> str:
    """train.yaml's `tune:` block for TRAIN_ROWS training rows, commented."""
    proposal = propose_search(train_rows)
    lines = [
        f"# The hyperparameter search (Optuna, seeded TPE), sized to about {train_rows:,} "
        "training rows:",
        "# each trial is a k-fold CV of the training split (the holdout is never seen by it),",
        "# and the best trial's parameters replace those in `params:`. `enabled: false` trains",
        '# with `params:` as written. The README\'s "Tuning" says more.',
        "tune:",
        "  enabled: true",
        f"  trials: {proposal.trials:<23}# the budget: the same seed and data give the same result",
        f"  timeout_seconds: {proposal.timeout_seconds:<14}# a cap on one run's search: then "
        "the best so far",
        "  metric: roc_auc                # the CV metric maximised (or log_loss, minimised)",
        "  space:                         # whole-number bounds search whole numbers",
    ]
    for name, bounds in proposal.space.items():
        body = ", ".join(f"{key}: {_number(value)}" for key, value in bounds.items())
        lines.append(f"    {name}: {{{body}}}")
    return "\n".join(lines) + "\n"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
