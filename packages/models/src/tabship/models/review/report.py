"""What a review found, in one JSON-ready record that the Markdown, the HTML page and `--json`
all render from. The computing is in jobs/review.py; this module holds no logic beyond the
one-line summary and the verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tabship.models.promotion.paired import BETTER, UNCLEAR, WORSE, Difference
from tabship.models.review.calibration import Calibration
from tabship.models.review.flips import Flips
from tabship.models.review.groups import GroupChange

MARKER = "<!-- tabship-review -->"  # the hidden line by which a posted comment is found again


@dataclass(frozen=True)
class Side:
    """One model: where it came from and what it costs."""

    version: str
    run_id: str
    dataset_version: str
    train_rows: int | None
    holdout_rows: int | None
    git_commit: str
    schema_hash: str
    best_iteration: int | None
    train_seconds: float | None
    model_bytes: int
    packages: dict[str, str]
    feature_importance: dict[str, float]


@dataclass(frozen=True)
class Scoring:
    """Both models scored on the holdout of one dataset version."""

    dataset_version: str
    whose: str  # "candidate's" or "champion's": whose holdout these rows are
    rows: int
    differences: list[Difference]
    groups: list[GroupChange]
    group_level: float
    flips: Flips
    calibration: dict[str, Calibration]  # "champion" and "candidate"

    def metric(self, name: str) -> Difference:
        return next(d for d in self.differences if d.metric == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_version": self.dataset_version,
            "whose": self.whose,
            "rows": self.rows,
            "differences": [d.to_dict() for d in self.differences],
            "groups": [g.to_dict() for g in self.groups],
            "group_level": self.group_level,
            "flips": self.flips.to_dict(),
            "calibration": {k: v.to_dict() for k, v in self.calibration.items()},
        }


@dataclass
class Review:
    """The candidate against a registered version (the champion by default)."""

    model_name: str
    registry: str
    against: str  # what was asked for: an alias or a version number
    threshold: float
    candidate: Side
    champion: Side | None
    scorings: list[Scoring]
    gate_passed: bool
    gate_checks: list[dict[str, Any]]
    candidate_holdout: dict[str, float]
    config_diff: dict[str, list[str]] = field(default_factory=dict)  # file -> unified diff lines
    configs_recorded: bool = True  # False: the champion's run logged no configs (older runs)
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why
    links: dict[str, str] = field(default_factory=dict)  # the HTML page, the CI run

    @property
    def verdict(self) -> str:
        """What a promotion would do: `promote` when the gate passes, else `refuse`."""
        return "promote" if self.gate_passed else "refuse"

    def groups_worse(self) -> list[GroupChange]:
        return [g for g in self.scorings[0].groups if g.worse] if self.scorings else []

    def summary(self) -> str:
        """One line a reviewer can act on: the gate's verdict, the headline metric, the groups
        that got worse and the decisions that change."""
        gate = "the gate passes" if self.gate_passed else "the gate REFUSES it"
        if self.champion is None or not self.scorings:
            return (f"{self.model_name}: candidate v{self.candidate.version} has no {self.against} "
                    f"to compare with; {gate} (ROC-AUC "
                    f"{self.candidate_holdout['roc_auc']:.4f} on the holdout)")  # fmt: skip
        main = self.scorings[0]
        auc = main.metric("roc_auc")
        worse = self.groups_worse()
        groups = (
            f"{len(worse)} group(s) worse ({', '.join(f'{g.attribute}={g.group}' for g in worse)})"
            if worse
            else "no group worse"
        )
        return (
            f"{_headline(auc.call)}: candidate v{self.candidate.version} vs "
            f"{self.against} v{self.champion.version}: ROC-AUC {auc.difference:+.4f} "
            f"[{auc.low:+.4f}, {auc.high:+.4f}], {auc.call}; {groups}; "
            f"{main.flips.changed} of {main.rows} decisions change ({main.flips.share:.1%}); "
            f"{gate}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "verdict": self.verdict,
            "model_name": self.model_name,
            "registry": self.registry,
            "against": self.against,
            "threshold": self.threshold,
            "candidate": asdict(self.candidate),
            "champion": asdict(self.champion) if self.champion else None,
            "scorings": [s.to_dict() for s in self.scorings],
            "gate": {"passed": self.gate_passed, "checks": self.gate_checks},
            "candidate_holdout": self.candidate_holdout,
            "config_diff": self.config_diff,
            "configs_recorded": self.configs_recorded,
            "notes": self.notes,
            "links": self.links,
        }


def _headline(call: str) -> str:
    return {BETTER: "Better", WORSE: "Worse", UNCLEAR: "No clear change"}[call]
