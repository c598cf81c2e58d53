"""The paired intervals and their calls, on scores whose truth is known."""

from __future__ import annotations

import numpy as np

from tabship.models.promotion.paired import BETTER, UNCLEAR, WORSE, compare
from tabship.models.review.calibration import calibration
from tabship.models.review.flips import count_flips


def _scores(seed: int, rows: int = 3000, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    signal = y + rng.normal(0, noise, rows)
    return y, 1 / (1 + np.exp(-2 * (signal - 0.5)))


def test_the_same_scores_are_no_clear_change() -> None:
    y, score = _scores(0)
    assert {d.call for d in compare(y, score, score, 0.5)} == {UNCLEAR}


def test_a_clearly_better_model_is_better_on_every_metric_each_way_round() -> None:
    y, weak = _scores(1, noise=1.5)
    rng = np.random.default_rng(2)
    strong = 1 / (1 + np.exp(-2 * (y + rng.normal(0, 0.5, len(y)) - 0.5)))
    better = {d.metric: d.call for d in compare(y, weak, strong, 0.5)}
    worse = {d.metric: d.call for d in compare(y, strong, weak, 0.5)}
    assert set(better.values()) == {BETTER}  # log loss and Brier fall: still "better"
    assert set(worse.values()) == {WORSE}


def test_levels_roc_auc_at_95_the_others_bonferroni() -> None:
    y, score = _scores(3)
    levels = {d.metric: round(d.level, 4) for d in compare(y, score, score[::-1], 0.5)}
    assert levels == {"roc_auc": 0.95, "log_loss": 0.9875, "accuracy": 0.9875, "f1": 0.9875,
                      "brier": 0.9875}  # fmt: skip


def test_flips_and_calibration_count_what_they_say() -> None:
    y = np.array([1, 0, 1, 0])
    flips = count_flips(y, np.array([0.9, 0.9, 0.1, 0.1]), np.array([0.9, 0.1, 0.9, 0.1]), 0.5)
    assert (flips.changed, flips.to_positive, flips.to_negative) == (2, 1, 1)
    assert (flips.now_right, flips.now_wrong) == (2, 0)
    found = calibration(np.array([1, 0, 1, 0]), np.array([0.95, 0.05, 0.95, 0.05]))
    assert found.counts == [2, 2] and abs(found.ece - 0.05) < 1e-12
    assert abs(sum(found.histogram) - 1.0) < 1e-12
