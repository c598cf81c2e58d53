"""Live performance, once labels arrive: logged predictions joined to labels by prediction_id.

Labels come late, partly, and sometimes twice, so the join reports what it could not use rather
than hiding it:

- predictions without a label yet (`unlabelled_predictions`) are left out of the figures;
- labels whose prediction is not in the window (`unmatched_labels`) are counted and dropped;
- several labels for one prediction: **the last one in the labels' order wins** (labels are
  appended as they arrive, so a later one is a correction). The extra rows are counted
  (`duplicate_labels`), and the predictions whose labels disagree among themselves too
  (`conflicting_labels`); a prediction_id logged twice keeps its first row (`duplicate_predictions`).

Below `min_labels` matched labels nothing is claimed: every figure is None. Accuracy uses each
prediction's own logged threshold, so a window that spans a threshold change stays right.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import roc_auc_score

Floats = npt.NDArray[np.float64]
PREDICTION_COLUMNS = ("prediction_id", "score", "threshold")
LABEL_COLUMNS = ("prediction_id", "label")


@dataclass(frozen=True)
class LivePerformance:
    """One window's live figures and the bookkeeping of its join. Figures are None below
    min_labels labelled predictions (ROC-AUC also when the labels hold one class only)."""

    predictions: int
    labels: int
    labelled: int
    unlabelled_predictions: int
    unmatched_labels: int
    duplicate_labels: int
    conflicting_labels: int
    duplicate_predictions: int
    min_labels: int
    roc_auc: float | None
    accuracy: float | None
    brier: float | None
    calibration_error: float | None

    @property
    def enough_labels(self) -> bool:
        return self.labelled >= self.min_labels

    def metrics(self) -> dict[str, float]:
        """The figures that can be claimed, by the names monitor_metrics.LIVE_METRICS uses."""
        figures = {
            "roc_auc": self.roc_auc,
            "accuracy": self.accuracy,
            "brier": self.brier,
            "calibration_error": self.calibration_error,
        }
        return {k: v for k, v in figures.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (None for figures that cannot be claimed)."""
        return {**asdict(self), "enough_labels": self.enough_labels}


def calibration_error(labels: Floats, scores: Floats, bins: int = 10) -> float:
    """Expected calibration error: over BINS equal-width score bins, the row-weighted mean of
    |mean score - share of positives|. Equal-width bins, as reliability diagrams draw them."""
    index = np.minimum((scores * bins).astype(np.int64), bins - 1)
    rows = np.bincount(index, minlength=bins).astype(np.float64)
    score_sum = np.bincount(index, weights=scores, minlength=bins)
    label_sum = np.bincount(index, weights=labels, minlength=bins)
    return float(np.sum(np.abs(score_sum - label_sum)) / rows.sum())


def _check(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ValueError(f"performance: the {what} lack the columns {', '.join(absent)}")


def live_performance(
    predictions: pd.DataFrame, labels: pd.DataFrame, min_labels: int = 200, bins: int = 10
) -> LivePerformance:
    """ROC-AUC, accuracy, Brier score and expected calibration error (BINS bins) of the window's
    PREDICTIONS (prediction_id, score, threshold) against LABELS (prediction_id, label 0/1)."""
    _check(predictions, PREDICTION_COLUMNS, "predictions")
    _check(labels, LABEL_COLUMNS, "labels")
    label_values = pd.to_numeric(labels["label"], errors="coerce")
    if not label_values.isin((0, 1)).all():
        raise ValueError("performance: every label must be 0 or 1")
    ids = labels["prediction_id"].astype("string")
    per_id = pd.DataFrame({"prediction_id": ids, "label": label_values.astype(np.int64)})
    distinct = per_id.groupby("prediction_id", sort=False)["label"].nunique()
    last = per_id.drop_duplicates("prediction_id", keep="last")
    logged = predictions.loc[:, list(PREDICTION_COLUMNS)].assign(
        prediction_id=predictions["prediction_id"].astype("string")
    )
    first = logged.drop_duplicates("prediction_id", keep="first")
    joined = first.merge(last, on="prediction_id", how="inner")  # both sides are unique by now
    labelled = len(joined)
    counts = {
        "predictions": len(predictions),
        "labels": len(labels),
        "labelled": labelled,
        "unlabelled_predictions": len(first) - labelled,
        "unmatched_labels": len(last) - labelled,
        "duplicate_labels": len(per_id) - len(last),
        "conflicting_labels": int((distinct > 1).sum()),
        "duplicate_predictions": len(logged) - len(first),
        "min_labels": min_labels,
    }
    if labelled < min_labels:
        return LivePerformance(
            **counts, roc_auc=None, accuracy=None, brier=None, calibration_error=None
        )
    y = joined["label"].to_numpy(dtype=np.float64)
    score = joined["score"].to_numpy(dtype=np.float64)
    if not np.all((score >= 0.0) & (score <= 1.0)):
        raise ValueError("performance: every score must be a probability between 0 and 1")
    predicted = score >= joined["threshold"].to_numpy(dtype=np.float64)
    both = 0.0 < y.mean() < 1.0
    return LivePerformance(
        **counts,
        roc_auc=float(roc_auc_score(y, score)) if both else None,
        accuracy=float(np.mean(predicted == (y == 1.0))),
        brier=float(np.mean((score - y) ** 2)),
        calibration_error=calibration_error(y, score, bins),
    )
