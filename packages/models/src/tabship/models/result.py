"""What a training run did. A light module: the cache and the CLI read it without heavy imports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TrainResult:
    """What a training run did; the CLI prints it as a table or as JSON."""

    status: str  # promoted | gate_failed; a retrain's challenger: refused | superseded
    model_name: str
    model_version: str
    run_id: str
    dataset_version: str
    cv_mean: dict[str, float]
    cv_std: dict[str, float]
    holdout: dict[str, float]
    best_iteration: int
    gate_passed: bool
    gate_table: str
    gate_failures: list[str]
    champion: str | None
    previous: str | None
    card_path: str
    tracking_uri: str
    cached: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    verdict: dict[str, Any] | None = None  # a retrain's comparison with the champion

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
