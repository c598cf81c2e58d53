"""The monitor report as gauges on a Pushgateway, under the names of monitor_metrics.py, which the
Prometheus rules and dashboards use. A success replaces the job's whole group (PUT), so a figure
that cannot be claimed this time disappears instead of lingering; a failure only sets `FAILED`
(POST), so the last good figures stay visible beside it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, pushadd_to_gateway

from tabship.models.monitoring import gauges as m

PSI_LINE = 0.1  # the usual rule of thumb (Evidently's default too); drawn, never a verdict


def _gauge(registry: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, labelnames=labels, registry=registry)


def report_registry(report: Mapping[str, Any]) -> CollectorRegistry:
    """The gauges of one monitor report."""
    registry = CollectorRegistry()
    drift = report["drift"]
    window = _gauge(registry, m.WINDOW_ROWS, "Logged predictions in the monitor's window")
    window.set(report["window"]["rows"])
    _gauge(registry, m.WINDOW_MIN_ROWS, "Window size below which drift has no verdict").set(
        drift["rule"]["min_rows"]
    )
    threshold = _gauge(registry, m.DRIFT_PSI_THRESHOLD, "A conventional PSI line, for the eye")
    threshold.set(PSI_LINE)
    if drift["enough_data"]:
        psi = _gauge(registry, m.DRIFT_PSI, "Population stability index", ("feature",))
        alarm = _gauge(registry, m.DRIFT_ALARM, "1 when the feature drifts", ("feature",))
        for feature in drift["features"]:
            name = m.SCORE_FEATURE if feature["kind"] == "score" else feature["feature"]
            if feature["psi"] is not None:
                psi.labels(feature=name).set(feature["psi"])
            alarm.labels(feature=name).set(1 if feature["verdict"] == "drift" else 0)
        _gauge(registry, m.DRIFT_FEATURES_ALARMED, "Features flagged as drifting").set(
            len(drift["drifted"])
        )
    live = report["live"]
    _gauge(registry, m.LIVE_LABELS, "Labelled predictions in the window").set(live["labelled"])
    _gauge(registry, m.LIVE_MIN_LABELS, "Labels needed before a live figure").set(
        live["min_labels"]
    )
    for metric in m.LIVE_METRICS:
        if live.get(metric) is not None:
            _gauge(registry, m.live(metric), f"Live {metric} on labelled predictions").set(
                live[metric]
            )
    for metric in m.ESTIMATED_METRICS:
        value = report["estimated"].get(metric)
        if value is not None:
            _gauge(registry, m.estimated(metric), f"Label-free estimate of {metric}").set(value)
        reference = report["reference"].get(metric)
        if reference is not None:
            _gauge(registry, m.reference(metric), f"The champion's holdout {metric}").set(reference)
    _gauge(registry, m.PERFORMANCE_MARGIN, "Allowed drop below the reference").set(report["margin"])
    _gauge(registry, m.MODEL_VERSION, "The champion version monitored").set(
        int(report["model_version"])
    )
    _gauge(registry, m.LAST_SUCCESS, "Unix time of the last successful run").set(time.time())
    _gauge(registry, m.FAILED, "1 when the last run failed").set(0)
    return registry


def push_report(url: str, report: Mapping[str, Any]) -> None:
    """Replace MODEL_NAME's group on the Pushgateway at URL with the report's gauges."""
    push_to_gateway(
        url, job=m.JOB, registry=report_registry(report),
        grouping_key={"model_name": report["model_name"]}, timeout=10,
    )  # fmt: skip


def push_failure(url: str, model_name: str) -> None:
    """Set FAILED to 1 in MODEL_NAME's group, keeping its other gauges."""
    registry = CollectorRegistry()
    _gauge(registry, m.FAILED, "1 when the last run failed").set(1)
    pushadd_to_gateway(
        url, job=m.JOB, registry=registry, grouping_key={"model_name": model_name}, timeout=10
    )
