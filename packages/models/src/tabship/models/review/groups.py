"""The paired comparison within each group of the card's attributes, corrected for their number.

A review with 13 groups and two metrics makes 26 comparisons: at 95% each, about one in four
reviews of two equally good models would call some group "worse". The group intervals are
therefore Bonferroni's: each at 1 - alpha / k for the k comparisons made, so that the chance of
any false call in the whole table stays at most alpha. Bonferroni over Holm because each group's
call must follow from the interval shown beside it, and Holm's step-down has no such intervals.
Groups under the gate's minimum size are listed with their flips but not called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabship.models.config import Group
from tabship.models.promotion.paired import WORSE, Difference, compare
from tabship.models.review.flips import Flips, count_flips
from tabship.models.training.metrics import Labels, Scores, group_labels

GROUP_METRICS = ("roc_auc", "accuracy")
ALPHA = 0.05  # the chance of any false call over all groups' comparisons


@dataclass(frozen=True)
class GroupChange:
    """One group: its rows, its flips, and (when large enough to call) each metric's change."""

    attribute: str
    group: str
    rows: int
    flips: Flips
    differences: list[Difference]

    @property
    def worse(self) -> bool:
        return any(d.call == WORSE for d in self.differences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "group": self.group,
            "rows": self.rows,
            "called": bool(self.differences),
            "worse": self.worse,
            "flips": self.flips.to_dict(),
            "differences": [d.to_dict() for d in self.differences],
        }


def _order(change: GroupChange) -> tuple[bool, float]:
    """Significantly worse first, then by the ROC-AUC difference, lowest first."""
    auc = next((d.difference for d in change.differences if d.metric == "roc_auc"), 0.0)
    return (not change.worse, auc if not np.isnan(auc) else 0.0)


def compare_groups(
    frame: pd.DataFrame,
    y: Labels,
    champion: Scores,
    candidate: Scores,
    groups: Sequence[Group],
    threshold: float,
    min_size: int,
    alpha: float = ALPHA,
) -> tuple[list[GroupChange], float]:
    """Every group of GROUPS in FRAME's rows, worst first, and the level of the group intervals."""
    members = []
    for group in groups:
        names = group_labels(frame, group).to_numpy()
        members += [(group.name, str(v), names == v) for v in sorted(set(names))]
    called = sum(int(mask.sum()) >= min_size for *_, mask in members)
    level = 1 - alpha / max(called * len(GROUP_METRICS), 1)
    changes = []
    for attribute, value, mask in members:
        rows = int(mask.sum())
        differences = []
        if rows >= min_size:
            differences = compare(y[mask], champion[mask], candidate[mask], threshold, level,
                                  GROUP_METRICS, secondary_level=None)  # fmt: skip
        flips = count_flips(y[mask], champion[mask], candidate[mask], threshold)
        changes.append(GroupChange(attribute, value, rows, flips, differences))
    return sorted(changes, key=_order), level
