"""Simple baselines, trained on the same split as the candidate and scored on the same holdout.

A new dataset's gate asks the candidate to beat one of them by a margin, which needs no guess of
what a good absolute score is for data nobody has modelled yet. Both read the raw columns the
feature spec names (derived features and indicators are the candidate's own work):

- `logistic_regression`: numbers median-imputed and scaled, categories one-hot (missing is its
  own category), and an L2 logistic regression (scikit-learn);
- `best_single_feature`: each feature alone ranks the training rows (a number by its value, a
  category by its training-set positive rate), and the best of them scores the holdout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tabship.features import FeatureSpec
from tabship.models.training.data import TrainingData
from tabship.models.training.metrics import Scores, binary_metrics

MISSING = "<missing>"


@dataclass(frozen=True)
class Baseline:
    """A baseline's holdout metrics, and what it was."""

    model: str
    holdout: dict[str, float]
    detail: str
    score: Scores = field(repr=False, compare=False)  # per holdout row, for the paired check

    def for_card(self, gains: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """What the card shows: the model, its holdout metrics and the candidate's GAINS."""
        return {"model": self.model, "detail": self.detail, "holdout": self.holdout,
                "gains": gains}  # fmt: skip


def _categories(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame[list(columns)].astype("string").fillna(MISSING).astype(object)


def _numbers(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame[list(columns)].astype("float64")


def logistic_regression(data: TrainingData, spec: FeatureSpec, seed: int) -> tuple[Scores, str]:
    """Holdout scores of a logistic regression on the spec's raw numeric and categorical columns."""
    numeric, categorical = spec.numeric, spec.categorical
    steps = []
    if numeric:
        scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        steps.append(("numeric", scale, list(numeric)))
    if categorical:
        steps.append(("categorical", OneHotEncoder(handle_unknown="ignore"), list(categorical)))
    model = make_pipeline(
        ColumnTransformer(steps), LogisticRegression(max_iter=1000, random_state=seed)
    )

    def frame(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([_numbers(rows, numeric), _categories(rows, categorical)], axis=1)

    model.fit(frame(data.train), data.y_train)
    score = model.predict_proba(frame(data.holdout))[:, 1]
    return np.asarray(score, dtype=np.float64), (
        f"{len(numeric)} scaled numbers and {len(categorical)} one-hot categories"
    )


def _feature_scores(train: pd.Series, y: np.ndarray, apply_to: pd.Series, numeric: bool) -> Scores:
    if numeric:
        fill = float(train.median()) if train.notna().any() else 0.0
        return np.asarray(apply_to.astype("float64").fillna(fill), dtype=np.float64)
    rate = pd.Series(y, index=train.index).groupby(train.astype("string").fillna(MISSING)).mean()
    mapped = apply_to.astype("string").fillna(MISSING).map(rate)
    return np.asarray(mapped.astype("float64").fillna(float(np.mean(y))), dtype=np.float64)


def best_single_feature(data: TrainingData, spec: FeatureSpec) -> tuple[Scores, str]:
    """Holdout scores of the one feature whose ranking of the training rows is best."""
    best: tuple[float, str, bool, float] | None = None
    for name, numeric in [
        *((n, True) for n in spec.numeric),
        *((c, False) for c in spec.categorical),
    ]:
        score = _feature_scores(data.train[name], data.y_train, data.train[name], numeric)
        auc = float(roc_auc_score(data.y_train, score))
        sign = 1.0 if auc >= 0.5 else -1.0  # a feature that ranks backwards is flipped
        if best is None or max(auc, 1 - auc) > best[0]:
            best = (max(auc, 1 - auc), name, numeric, sign)
    if best is None:
        raise ValueError("the feature spec names no numeric or categorical column")
    _, name, numeric, sign = best
    raw = _feature_scores(data.train[name], data.y_train, data.holdout[name], numeric)
    # Rank-preserving squash into (0, 1), so log loss and Brier are defined; ROC-AUC is the
    # feature's own.
    ranks = pd.Series(sign * raw).rank(pct=True).to_numpy()
    return np.clip(ranks, 1e-6, 1 - 1e-6), f"the feature {name}"


def fit_baseline(
    model: str, data: TrainingData, spec: FeatureSpec, threshold: float, seed: int
) -> Baseline:
    """Train baseline MODEL on DATA's training rows and score its holdout."""
    if model == "logistic_regression":
        score, detail = logistic_regression(data, spec, seed)
    elif model == "best_single_feature":
        score, detail = best_single_feature(data, spec)
    else:
        raise ValueError(f"unknown baseline {model!r}")
    return Baseline(model, binary_metrics(data.y_holdout, score, threshold), detail, score)
