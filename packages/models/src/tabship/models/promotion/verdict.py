"""A retrain's challenger: why it was trained, and the verdict that promotes it or not.

A plain `train` promotes a candidate that passes the gate. A retrain asks more: the gate, and a
paired test showing the challenger beats the champion on the same holdout (compare.py). The
verdict's reasons are written on the challenger's card and returned to the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tabship.models.promotion.delong import PairedAuc, PromotionRule
from tabship.models.promotion.gate import GateResult


@dataclass(frozen=True)
class Challenge:
    """How a challenger is judged, and what caused the retrain (for the run's record)."""

    rule: PromotionRule
    trigger: str
    report: dict[str, Any] | None = None  # the monitor report that caused it, when there is one


@dataclass(frozen=True)
class Verdict:
    """Promote or not, and every reason."""

    promote: bool
    reasons: list[str]
    comparison: PairedAuc | None = None
    trigger: str = "manual"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reasons": self.reasons,
            "trigger": self.trigger,
            "comparison": self.comparison.to_dict() if self.comparison else None,
            **self.extra,
        }


def decide(challenge: Challenge, gate: GateResult, comparison: PairedAuc | None) -> Verdict:
    """Promote when the gate passes and the challenger is better beyond the test's doubt. With no
    champion to compare with, the gate alone decides (the first model)."""
    reasons = []
    if not gate.passed:
        failed = ", ".join(f"{c.name} ({c.value:.4f} vs {c.limit:.4f})" for c in gate.failures)
        reasons.append(f"the quality gate failed: {failed}")
    if comparison is None:
        reasons.append("no champion to compare with: the gate decides")
    else:
        reasons.append(comparison.reason())
    promote = gate.passed and (comparison is None or comparison.better)
    return Verdict(promote, reasons, comparison, challenge.trigger)
