"""Behavioural tests of the model trained on the full Adult data: invariance, direction, and
minimum functionality on hand-made rows (in the spirit of Made-With-ML and CheckList)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabship.models.training.data import TrainingData
from tabship.models.training.fit import Trained, predict

MODEL = tuple[Trained, TrainingData]


def score(trained: Trained, frame: pd.DataFrame) -> np.ndarray:
    return predict(trained.booster, trained.pipeline.transform(frame).matrix)


def test_the_full_model_clears_the_reference_quality(adult_model: MODEL) -> None:
    trained, data = adult_model
    assert len(data.train) == 32561
    assert len(data.holdout) == 16281
    assert trained.holdout["roc_auc"] >= 0.925
    assert trained.holdout["accuracy"] >= 0.870


def test_invariance_a_slightly_different_fnlwgt_flips_no_confident_label(
    adult_model: MODEL,
) -> None:
    """fnlwgt is a census sampling weight, not a trait of the person: a 1% change may move a
    borderline row across the threshold, but never a confident one, and rarely any."""
    trained, data = adult_model
    rows = data.holdout.head(2000)
    before = score(trained, rows)
    for factor in (0.99, 1.01):
        changed = rows.assign(fnlwgt=(rows["fnlwgt"] * factor).round().astype(rows["fnlwgt"].dtype))
        flipped = (score(trained, changed) >= 0.5) != (before >= 0.5)
        assert float(np.mean(flipped)) <= 0.01, f"fnlwgt x{factor} flipped {np.mean(flipped):.2%}"
        assert np.all(np.abs(before[flipped] - 0.5) < 0.1), "a confident prediction flipped"


def test_direction_more_education_does_not_lower_the_score_on_average(adult_model: MODEL) -> None:
    trained, data = adult_model
    rows = data.holdout[data.holdout["education-num"] <= 12].head(3000)
    more = rows.assign(**{"education-num": rows["education-num"] + 2})
    assert float(np.mean(score(trained, more))) >= float(np.mean(score(trained, rows)))


def test_minimum_functionality_on_hand_made_rows(adult_model: MODEL) -> None:
    trained, data = adult_model
    template = data.holdout.head(2).copy()
    likely_high: dict[str, int | str] = {
        "age": 48, "workclass": "Private", "education": "Doctorate", "education-num": 16,
        "marital-status": "Married-civ-spouse", "occupation": "Exec-managerial",
        "relationship": "Husband", "capital-gain": 15024, "capital-loss": 0,
        "hours-per-week": 60,
    }  # fmt: skip
    likely_low: dict[str, int | str] = {
        "age": 19, "workclass": "Private", "education": "11th", "education-num": 7,
        "marital-status": "Never-married", "occupation": "Handlers-cleaners",
        "relationship": "Own-child", "capital-gain": 0, "capital-loss": 0,
        "hours-per-week": 20,
    }  # fmt: skip
    for column, value in likely_high.items():
        template[column] = template[column].astype(object)
        template.loc[0, column] = value
        template.loc[1, column] = likely_low[column]
    high, low = score(trained, template.astype({c: data.holdout[c].dtype for c in likely_high}))
    assert high > 0.8
    assert low < 0.05
