"""The label-free estimate (CBPE) and the score's drift, with the Adult model of the default
configs: the profile comes from its out-of-fold scores on the training split, the windows from
the holdout (adult.test), scored by the final model. Figures are printed (pytest -s or -rA)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import roc_auc_score

from tabship.models import (
    Profile,
    Trained,
    TrainingData,
    build_profile,
    detect_drift,
    estimate_performance,
)
from tabship.models.monitoring.gauges import SCORE_FEATURE

THRESHOLD = 0.5  # configs/datasets/adult/train.yaml
Model = tuple[Trained, TrainingData]


@pytest.fixture(scope="module")
def profile(adult_model: Model) -> Profile:
    trained, data = adult_model
    return build_profile(data.train, trained.pipeline.spec, trained.cv.oof, data.y_train)


def shifted_windows(data: TrainingData, windows: int, rows: int) -> list[npt.NDArray[np.int_]]:
    """Holdout rows resampled with weights exp(beta * z): z is age (standardised) for even
    windows and education-num for odd ones, beta runs from -1.5 to 1.5. Rows keep their labels,
    so P(label | inputs) holds and only the inputs move (covariate shift)."""
    rng = np.random.default_rng(11)
    picks = []
    for i, beta in enumerate(np.linspace(-1.5, 1.5, windows)):
        column = data.holdout["age" if i % 2 == 0 else "education-num"].to_numpy(dtype=float)
        z = (column - column.mean()) / column.std()
        weight = np.exp(beta * z)
        picks.append(rng.choice(len(column), rows, replace=True, p=weight / weight.sum()))
    return picks


def test_estimated_roc_auc_tracks_the_realised_one(adult_model: Model, profile: Profile) -> None:
    """20 windows of 2,000 rows under covariate shift: the mean absolute error of the estimated
    ROC-AUC against the realised one is at most 0.02."""
    trained, data = adult_model
    auc_errors, acc_errors, realised_aucs, naive_errors = [], [], [], []
    reference_auc = float(roc_auc_score(data.y_train, trained.cv.oof))
    for idx in shifted_windows(data, windows=20, rows=2000):
        score, y = trained.score[idx], data.y_holdout[idx]
        estimate = estimate_performance(profile, score, THRESHOLD)
        assert estimate.roc_auc is not None and estimate.accuracy is not None
        realised = float(roc_auc_score(y, score))
        accuracy = float(np.mean((score >= THRESHOLD) == (y == 1)))
        auc_errors.append(abs(estimate.roc_auc - realised))
        acc_errors.append(abs(estimate.accuracy - accuracy))
        realised_aucs.append(realised)
        naive_errors.append(abs(reference_auc - realised))
    auc_mae, acc_mae = float(np.mean(auc_errors)), float(np.mean(acc_errors))
    print(
        f"\nCBPE over 20 shifted windows of 2,000 rows: ROC-AUC MAE {auc_mae:.4f} "
        f"(max {max(auc_errors):.4f}), accuracy MAE {acc_mae:.4f} (max {max(acc_errors):.4f}); "
        f"realised ROC-AUC {min(realised_aucs):.3f} to {max(realised_aucs):.3f}; "
        f"the reference's own ROC-AUC as the guess would err by {np.mean(naive_errors):.4f}"
    )
    assert auc_mae <= 0.02
    assert acc_mae <= 0.02


def test_score_does_not_drift_without_a_shift(adult_model: Model, profile: Profile) -> None:
    """The final model's holdout scores against the out-of-fold ones: 200 windows of 1,000 rows,
    score and features together."""
    trained, data = adult_model
    whole = detect_drift(profile, data.holdout, trained.score).features[-1]
    rng = np.random.default_rng(12)
    flagged = 0
    distances = []
    which: Counter[str] = Counter()
    for _ in range(200):
        idx = rng.choice(len(data.holdout), 1000, replace=False)
        report = detect_drift(profile, data.holdout.iloc[idx], trained.score[idx])
        flagged += bool(report.drifted)
        which.update(report.drifted)
        score = report.features[-1]
        assert score.feature == SCORE_FEATURE and score.distance is not None
        distances.append(score.distance)
    print(
        f"\nno shift, with the score: {flagged}/200 windows raised an alarm "
        f"({dict(which) or 'none'}); score KS distance median {np.median(distances):.3f}, "
        f"max {max(distances):.3f}; over the whole holdout {whole.distance:.4f} "
        f"(the final model against the fold models)"
    )
    assert flagged <= 2


def test_too_few_rows_claim_nothing(profile: Profile) -> None:
    estimate = estimate_performance(profile, np.full(499, 0.3), THRESHOLD)
    assert not estimate.enough_data and estimate.metrics() == {}
    assert estimate.to_dict()["roc_auc"] is None
