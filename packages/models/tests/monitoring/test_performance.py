"""Live performance: the join of logged predictions and late labels, and its figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from tabship.models import live_performance
from tabship.models.monitoring.performance import calibration_error


def logged(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ROWS predictions with calibrated scores, and a label for each."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(size=rows)
    label = (rng.uniform(size=rows) < score).astype(int)
    ids = [f"p{i}" for i in range(rows)]
    predictions = pd.DataFrame({"prediction_id": ids, "score": score, "threshold": 0.5})
    return predictions, pd.DataFrame({"prediction_id": ids, "label": label})


def test_figures_match_the_textbook_ones() -> None:
    predictions, labels = logged(5000)
    result = live_performance(predictions, labels)
    y, s = labels["label"].to_numpy(), predictions["score"].to_numpy()
    assert result.enough_labels and result.labelled == 5000
    assert result.roc_auc == pytest.approx(roc_auc_score(y, s))
    assert result.accuracy == pytest.approx(np.mean((s >= 0.5) == y))
    assert result.brier == pytest.approx(brier_score_loss(y, s))
    assert set(result.metrics()) == {"roc_auc", "accuracy", "brier", "calibration_error"}
    json.dumps(result.to_dict(), allow_nan=False)


def test_calibration_error_separates_calibrated_from_not() -> None:
    """Over 50 seeded trials of 2,000 rows: a calibrated model's ECE stays small, and one whose
    scores are squared (overconfident towards 0) is clearly larger."""
    calibrated, squared = [], []
    for seed in range(50):
        predictions, labels = logged(2000, seed)
        y = labels["label"].to_numpy(dtype=float)
        s = predictions["score"].to_numpy()
        calibrated.append(calibration_error(y, s))
        squared.append(calibration_error(y, s**2))
    print(
        f"\nECE over 50 trials of 2,000 rows: calibrated mean {np.mean(calibrated):.3f} "
        f"(max {max(calibrated):.3f}), squared scores mean {np.mean(squared):.3f} "
        f"(min {min(squared):.3f})"
    )
    assert max(calibrated) < 0.04
    assert min(squared) > 0.1


def test_join_counts_what_it_cannot_use() -> None:
    predictions, labels = logged(1000)
    unlabelled = predictions.iloc[900:]  # no label yet
    labels = labels.iloc[:900]
    stray = pd.DataFrame({"prediction_id": ["gone1", "gone2"], "label": [1, 0]})
    # p0 labelled twice more: a repeat of its label, then a correction (the last one wins).
    first = int(labels["label"].iloc[0])
    again = pd.DataFrame({"prediction_id": ["p0", "p0"], "label": [first, 1 - first]})
    labels = pd.concat([labels, stray, again], ignore_index=True)
    predictions = pd.concat([predictions, predictions.iloc[[5]]], ignore_index=True)
    result = live_performance(predictions, labels, min_labels=100)
    assert len(unlabelled) == result.unlabelled_predictions == 100
    assert result.labelled == 900 and result.unmatched_labels == 2
    assert result.duplicate_labels == 2 and result.conflicting_labels == 1
    assert result.duplicate_predictions == 1 and result.predictions == 1001
    corrected = labels.drop_duplicates("prediction_id", keep="last").set_index("prediction_id")
    assert int(corrected["label"].loc["p0"]) == 1 - first


def test_too_few_labels_claim_nothing() -> None:
    predictions, labels = logged(1000)
    result = live_performance(predictions, labels.iloc[:199], min_labels=200)
    assert not result.enough_labels and result.metrics() == {}
    assert result.roc_auc is None and result.calibration_error is None
    assert result.unlabelled_predictions == 801


def test_one_class_has_no_roc_auc() -> None:
    predictions, labels = logged(300)
    result = live_performance(predictions, labels.assign(label=1), min_labels=100)
    assert result.roc_auc is None and result.accuracy is not None


def test_bad_input_is_refused() -> None:
    predictions, labels = logged(10)
    with pytest.raises(ValueError, match="0 or 1"):
        live_performance(predictions, labels.assign(label=2))
    with pytest.raises(ValueError, match="lack the columns threshold"):
        live_performance(predictions.drop(columns=["threshold"]), labels)
