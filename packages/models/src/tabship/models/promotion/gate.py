"""The quality gate: absolute floors, a margin over a baseline, no regression against the
champion, and group floors.

The baseline check is paired: both models are scored on the same holdout rows, and the
candidate fails only when the 95% interval of its gain over the baseline lies wholly below the
margin, that is when it is significantly short of it. On 200 holdout rows a point margin is
noise (ROC-AUC's interval there is about +-0.04 wide): a model as good as the baseline failed or
passed by the draw of the rows, and a new dataset was left with no champion. Demanding a
significant gain instead would refuse nearly every model on a small holdout, for the same
reason. On a large holdout the interval is narrow and the check is the point margin again. The
card shows the interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tabship.models.config import HIGHER_IS_BETTER, GateConfig
from tabship.models.promotion.paired import Difference
from tabship.models.training.metrics import GroupReport


@dataclass(frozen=True)
class Check:
    """One line of the gate's table."""

    name: str
    value: float
    limit: float
    passed: bool


@dataclass(frozen=True)
class GateResult:
    """Every check, and whether all of them passed."""

    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def table(self) -> str:
        """A plain-text table of the checks, failures marked."""
        width = max((len(c.name) for c in self.checks), default=10)
        lines = [f"{'check':<{width}}  {'value':>8}  {'limit':>8}  result"]
        for check in self.checks:
            verdict = "pass" if check.passed else "FAIL"
            lines.append(
                f"{check.name:<{width}}  {check.value:8.4f}  {check.limit:8.4f}  {verdict}"
            )
        return "\n".join(lines)


def _meets(metric: str, value: float, limit: float) -> bool:
    if math.isnan(value):
        return False
    return value >= limit if HIGHER_IS_BETTER[metric] else value <= limit


def best_gain(gap: Difference) -> float:
    """The upper end of the interval of the candidate's gain (for a loss, its fall)."""
    return gap.high if HIGHER_IS_BETTER[gap.metric] else -gap.low


def evaluate_gate(
    gate: GateConfig,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    groups: Sequence[GroupReport],
    baseline: Mapping[str, Difference] | None = None,
) -> GateResult:
    """Check a candidate's holdout metrics against the gate; CHAMPION is None when there is none,
    and BASELINE holds, when the gate names one, each margin metric's paired `candidate -
    baseline` difference on the holdout (promotion/paired.py's `compare`)."""
    checks = [
        Check(f"floor {metric}", candidate[metric], limit, _meets(metric, candidate[metric], limit))
        for metric, limit in gate.floors.items()
    ]
    if baseline is not None:
        for metric, margin in gate.baseline_margin.items():
            gain = best_gain(baseline[metric])
            name = f"vs baseline {metric} (gain, {baseline[metric].level:.0%} upper bound)"
            checks.append(Check(name, gain, margin, not math.isnan(gain) and gain >= margin))
    if champion is not None:
        for metric, margin in gate.champion_margin.items():
            sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
            limit = champion[metric] - sign * margin
            value = candidate[metric]
            checks.append(
                Check(f"vs champion {metric}", value, limit, _meets(metric, value, limit))
            )
    for report in groups:
        for row in report.rows:
            if not row["gated"]:
                continue
            for metric, limit in gate.group_floors.items():
                value = float(row[metric])  # type: ignore[arg-type]
                name = f"group {report.attribute}={row['group']} {metric}"
                checks.append(Check(name, value, limit, _meets(metric, value, limit)))
    return GateResult(checks)
