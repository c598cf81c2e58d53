"""A retrain's outcome: what it did, and the same in a few lines for people. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RetrainOutcome:
    """What a retrain did: promoted | refused | superseded | skipped."""

    status: str
    dataset: str
    model_name: str
    trigger: str
    champion: str | None
    challenger: str | None = None
    dataset_version: str | None = None
    reasons: list[str] = field(default_factory=list)
    feedback: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None
    run_id: str | None = None
    card_path: str | None = None
    report: str | None = None  # the monitor report recorded as the cause
    service: dict[str, Any] | None = None  # the reloaded service's answer (--notify)
    started_at: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


HEADLINES = {
    "promoted": "PROMOTED version {challenger} (champion was {champion})",
    "refused": "REFUSED version {challenger}: version {champion} stays champion",
    "superseded": "SUPERSEDED: version {challenger} is the challenger; the champion moved",
    "skipped": "SKIPPED: version {champion} stays champion; nothing was trained",
}


def retrain_summary(outcome: RetrainOutcome) -> str:
    """The verdict, the new data, the reasons and where the card is."""
    headline = HEADLINES[outcome.status].format(
        challenger=outcome.challenger, champion=outcome.champion
    )
    lines = [f"retrain {outcome.model_name} (trigger {outcome.trigger}): {headline}"]
    feedback = outcome.feedback
    if feedback:
        lines.append(
            f"feedback: {feedback['labelled']:,} labelled predictions of {feedback['logged']:,} "
            f"logged, {feedback['appended']:,} appended, {feedback['conflicting']} conflicting"
        )
    if outcome.dataset_version:
        lines.append(f"dataset {outcome.dataset} version {outcome.dataset_version}")
    lines += [f"- {reason}" for reason in outcome.reasons]
    if outcome.service:
        service = outcome.service
        lines.append(
            f"service: {service.get('status')}, serving version {service.get('model_version')}"
        )
    if outcome.card_path:
        lines.append(f"card: {outcome.card_path}")
    lines.append(f"{outcome.seconds:.1f} s")
    return "\n".join(lines)
