"""Binary classification metrics, overall and for each group of a protected attribute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, roc_auc_score

from tabship.models.config import Group

Scores = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int_]


def binary_metrics(y: Labels, score: Scores, threshold: float) -> dict[str, float]:
    """ROC-AUC, log loss, accuracy, F1 and Brier score of probabilities SCORE against labels Y."""
    label = (score >= threshold).astype(int)
    both_classes = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, score)) if both_classes else float("nan"),
        "log_loss": float(log_loss(y, score, labels=[0, 1])),
        "accuracy": float(accuracy_score(y, label)),
        "f1": float(f1_score(y, label, zero_division=0.0)),
        "brier": float(brier_score_loss(y, score)),
    }


@dataclass(frozen=True)
class GroupReport:
    """One attribute's groups: each group's size and metrics, and the largest gap between them."""

    attribute: str
    rows: list[dict[str, object]]
    largest_gap: dict[str, float]


def group_labels(frame: pd.DataFrame, group: Group) -> pd.Series:
    """Each row's group: the column's value, or its band when the group has bins."""
    column = frame[group.column]
    if not group.bins:
        return column.astype("string").fillna("(missing)")
    edges = list(group.bins)
    names = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(len(edges) - 1)]
    banded = pd.cut(column.astype(float), bins=edges, labels=names, right=False)
    return banded.astype("string").fillna("(out of bands)")


def group_metrics(
    frame: pd.DataFrame,
    y: Labels,
    score: Scores,
    groups: Sequence[Group],
    threshold: float,
    min_size: int,
) -> list[GroupReport]:
    """Metrics for each group; the gaps are taken over groups of at least MIN_SIZE rows."""
    reports = []
    for group in groups:
        labels = group_labels(frame, group).to_numpy()
        rows: list[dict[str, object]] = []
        for value in sorted(set(labels)):
            mask = labels == value
            metrics = binary_metrics(y[mask], score[mask], threshold)
            rows.append(
                {
                    "group": str(value),
                    "rows": int(mask.sum()),
                    "positive_rate": float(y[mask].mean()),
                    "gated": bool(mask.sum() >= min_size),
                    **metrics,
                }
            )
        gaps: dict[str, float] = {}
        for metric in ("roc_auc", "accuracy", "f1"):
            values = [
                float(r[metric])  # type: ignore[arg-type]
                for r in rows
                if r["gated"] and not np.isnan(float(r[metric]))  # type: ignore[arg-type]
            ]
            gaps[metric] = max(values) - min(values) if len(values) > 1 else 0.0
        reports.append(GroupReport(attribute=group.name, rows=rows, largest_gap=gaps))
    return reports
