"""The quality gate: absolute floors, a margin over a baseline, no regression against the
champion, and group floors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tabship.models.config import HIGHER_IS_BETTER, GateConfig
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


def evaluate_gate(
    gate: GateConfig,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    groups: Sequence[GroupReport],
    baseline: Mapping[str, float] | None = None,
) -> GateResult:
    """Check a candidate's holdout metrics against the gate; CHAMPION is None when there is none,
    and BASELINE holds the gate's baseline's holdout metrics when it names one."""
    checks = [
        Check(f"floor {metric}", candidate[metric], limit, _meets(metric, candidate[metric], limit))
        for metric, limit in gate.floors.items()
    ]
    if baseline is not None:
        for metric, margin in gate.baseline_margin.items():
            sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
            limit = baseline[metric] + sign * margin
            value = candidate[metric]
            checks.append(
                Check(f"vs baseline {metric}", value, limit, _meets(metric, value, limit))
            )
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
