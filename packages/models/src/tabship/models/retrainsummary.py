"""A retrain's outcome in a few lines for people. Imports nothing heavy."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tabship.models.retrain import RetrainOutcome

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
