"""Decisions that flip at the run's threshold: the rows whose label changes between two models."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tabship.models.training.metrics import Labels, Scores


@dataclass(frozen=True)
class Flips:
    """How many rows change label, which way, and whether the candidate is now right on them."""

    rows: int
    changed: int
    to_positive: int
    to_negative: int
    now_right: int  # the candidate's new label matches the truth
    now_wrong: int

    @property
    def share(self) -> float:
        return self.changed / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}


def count_flips(y: Labels, champion: Scores, candidate: Scores, threshold: float) -> Flips:
    """The rows whose label at THRESHOLD differs between the two models' scores."""
    before, after = champion >= threshold, candidate >= threshold
    changed = before != after
    right = after == y.astype(bool)
    return Flips(
        rows=len(y),
        changed=int(changed.sum()),
        to_positive=int((changed & after).sum()),
        to_negative=int((changed & ~after).sum()),
        now_right=int((changed & right).sum()),
        now_wrong=int((changed & ~right).sum()),
    )
