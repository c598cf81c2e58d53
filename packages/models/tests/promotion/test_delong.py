"""DeLong's paired AUC test: the AUCs are exact, the standard error agrees with a paired
bootstrap, and the promotion rule's error rates are measured over many seeded trials."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.metrics import roc_auc_score

from tabship.models.promotion.delong import PromotionRule, compare_auc, midranks

Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


def _pair(rng: np.random.Generator, rows: int, gain: float) -> Arrays:
    """Labels and two correlated scores; the challenger's signal is stronger by GAIN."""
    y = rng.random(rows) < 0.25
    shared = rng.normal(size=rows)  # what both models see: their errors are correlated
    champion = 1.0 * y + shared + 0.6 * rng.normal(size=rows)
    challenger = (1.0 + gain) * y + shared + 0.6 * rng.normal(size=rows)
    return y.astype(int), champion, challenger


def test_midranks_share_ties() -> None:
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_aucs_match_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y, a, b = _pair(rng, 3000, 0.1)
    a, b = np.round(a, 1), np.round(b, 1)  # many ties
    result = compare_auc(y, a, b)
    assert result.champion_auc == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert result.challenger_auc == pytest.approx(roc_auc_score(y, b), abs=1e-12)


def test_standard_error_agrees_with_a_paired_bootstrap() -> None:
    rng = np.random.default_rng(1)
    y, a, b = _pair(rng, 4000, 0.1)
    result = compare_auc(y, a, b)
    differences = []
    for _ in range(400):
        pick = rng.integers(0, len(y), len(y))
        differences.append(roc_auc_score(y[pick], b[pick]) - roc_auc_score(y[pick], a[pick]))
    bootstrap = float(np.std(differences, ddof=1))
    print(f"DeLong SE {result.standard_error:.5f}, paired bootstrap SE {bootstrap:.5f}")
    assert result.standard_error == pytest.approx(bootstrap, rel=0.15)


def test_equal_models_are_promoted_at_most_alpha_of_the_time() -> None:
    rng = np.random.default_rng(2)
    trials, rule = 2000, PromotionRule(min_gain=0.0, alpha=0.05)
    promoted = sum(compare_auc(*_pair(rng, 2000, 0.0), rule).better for _ in range(trials))
    rate = promoted / trials
    ceiling = rule.alpha + 3 * np.sqrt(rule.alpha * (1 - rule.alpha) / trials)
    print(f"equal models: {promoted} of {trials} promoted ({rate:.3f}; alpha {rule.alpha})")
    assert rate <= ceiling


def test_a_real_gain_is_found_and_a_margin_is_respected() -> None:
    rng = np.random.default_rng(3)
    trials = 300
    found = sum(compare_auc(*_pair(rng, 5000, 0.15)).better for _ in range(trials))
    # The same gain, asked to exceed a margin larger than itself: never a promotion.
    strict = PromotionRule(min_gain=0.05)
    beyond = sum(compare_auc(*_pair(rng, 5000, 0.15), strict).better for _ in range(trials))
    example = compare_auc(*_pair(rng, 5000, 0.15))
    print(
        f"gain {example.difference:+.4f}: promoted {found}/{trials}; "
        f"with min_gain 0.05: {beyond}/{trials}"
    )
    assert found / trials > 0.9 and beyond == 0


def test_identical_scores_are_a_tie_not_a_promotion() -> None:
    rng = np.random.default_rng(4)
    y, a, _ = _pair(rng, 1000, 0.0)
    result = compare_auc(y, a, a.copy())
    assert result.difference == 0 and not result.better
    assert "not better" in result.reason()


def test_bad_input_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="2 rows of each class"):
        compare_auc([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match="lengths differ"):
        compare_auc([1, 0], [0.1], [0.3, 0.2])
