"""tabship's own Prometheus metrics, served by BentoML's /metrics beside its request metrics.

Label values come only from the model's own feature and endpoint names, never from request
content, so the number of series is fixed by the schema (a few dozen at most).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bentoml
import numpy as np
import numpy.typing as npt

# Scores are probabilities: ten equal buckets show a drift in the score distribution at a glance.
SCORE_BUCKETS = tuple(round(x, 1) for x in np.linspace(0.1, 1.0, 10))


class ServiceMetrics:
    """The metric objects; created once per worker process."""

    def __init__(self) -> None:
        metrics: Any = bentoml.metrics
        self.scores = metrics.Histogram(
            name="tabship_prediction_score",
            documentation="Predicted probability of the positive class",
            labelnames=["endpoint"],
            buckets=SCORE_BUCKETS,
        )
        self.records = metrics.Counter(
            name="tabship_records_scored",
            documentation="Records scored",
            labelnames=["endpoint"],
        )
        self.missing = metrics.Counter(
            name="tabship_missing_values",
            documentation="Records with a missing (null) value, per input field",
            labelnames=["field"],
        )
        self.unseen = metrics.Counter(
            name="tabship_unknown_categories",
            documentation="Values of a category the model did not see in training, per field",
            labelnames=["field"],
        )
        self.shadow_dropped = metrics.Counter(
            name="tabship_shadow_dropped",
            documentation="Records not shadowed: the challenger was too far behind (shadow mode)",
        )
        self.log_full = metrics.Counter(
            name="tabship_prediction_log_full",
            documentation="Predictions refused (503): the prediction log at its cap, none of it read",
        )
        self.endpoints: dict[str, tuple[Any, Any]] = {}
        self.model = metrics.Gauge(
            name="tabship_model_info",
            documentation="The served model: always 1, the facts are labels",
            labelnames=["model_name", "model_version", "dataset_version"],
            multiprocess_mode="max",
        )

    def start(self, fields: list[str], unseen_fields: list[str], facts: Mapping[str, str]) -> None:
        """Create every series at zero, so rates work from the first scrape."""
        for name in fields:
            self.missing.labels(field=name)
        for name in unseen_fields:
            self.unseen.labels(field=name)
        self.model.labels(**facts).set(1)

    def swapped(self, old: Mapping[str, str], new: Mapping[str, str]) -> None:
        """The served model changed: its series goes to 0 and the new one's to 1. (Removing the
        old series would not do: in multiprocess mode its value stays in the worker's file.)"""
        if old != new:
            self.model.labels(**old).set(0)
        self.model.labels(**new).set(1)

    def _per_endpoint(self, endpoint: str) -> tuple[Any, Any]:
        """The endpoint's score histogram and record counter, looked up once (`labels` takes a
        lock and checks its arguments on every call: a tenth of a single record's cost)."""
        found = self.endpoints.get(endpoint)
        if found is None:
            found = self.endpoints[endpoint] = (
                self.scores.labels(endpoint=endpoint),
                self.records.labels(endpoint=endpoint),
            )
        return found

    def observe(
        self,
        endpoint: str,
        scores: npt.NDArray[np.float64],
        missing: Mapping[str, int],
        unseen: Mapping[str, int],
    ) -> None:
        """Record one request's scores and input problems."""
        histogram, records = self._per_endpoint(endpoint)
        for score in scores.tolist():
            histogram.observe(score)
        records.inc(len(scores))
        for name, count in missing.items():
            self.missing.labels(field=name).inc(count)
        for name, count in unseen.items():
            self.unseen.labels(field=name).inc(count)
