"""The metrics the monitor job pushes to a Pushgateway: the one list of names that the job, the
Prometheus rules and the Grafana dashboards share (configs/monitoring/).

Every series carries the Pushgateway grouping labels `job` (`JOB`) and `model_name` (the
registered model, e.g. `tabship-adult`). Per-feature series also carry `feature`; the score's
own drift uses the feature name `SCORE_FEATURE`. A figure that cannot be claimed yet (too few
rows or labels in the window) is not pushed at all, so an alert on it cannot fire on noise.
"""

from __future__ import annotations

JOB = "tabship_monitor"
SCORE_FEATURE = "__score__"

# Drift of each input feature (and of the score) against the champion's reference profile.
DRIFT_PSI = "tabship_drift_psi"  # gauge, labels: feature; population stability index
DRIFT_ALARM = "tabship_drift_alarm"  # gauge, labels: feature; 1 when flagged (the verdict), else 0
# gauge: a conventional PSI line (0.1) drawn on the dashboards for orientation. The verdict is
# DRIFT_ALARM's (drift.py: a test with Benjamini-Hochberg and a minimum effect size), not this.
DRIFT_PSI_THRESHOLD = "tabship_drift_psi_threshold"
DRIFT_FEATURES_ALARMED = "tabship_drift_features_alarmed"  # gauge: how many features are flagged
WINDOW_ROWS = "tabship_monitor_window_rows"  # gauge: logged predictions in the window
WINDOW_MIN_ROWS = "tabship_monitor_window_min_rows"  # gauge: below this, no drift verdict

# Live performance, once labels arrived (at least LIVE_MIN_LABELS of them in the window).
LIVE_LABELS = "tabship_live_labels"  # gauge: labelled predictions in the window
LIVE_MIN_LABELS = "tabship_live_min_labels"  # gauge: below this, no live figure is pushed
LIVE_METRICS = ("roc_auc", "accuracy", "brier", "calibration_error")
LIVE = "tabship_live_{metric}"  # gauge per metric in LIVE_METRICS

# The label-free estimate (confidence-based, from the calibrated scores alone).
ESTIMATED_METRICS = ("roc_auc", "accuracy")
ESTIMATED = "tabship_estimated_{metric}"  # gauge per metric in ESTIMATED_METRICS

# The champion's own holdout figures, which live and estimated figures are compared with.
REFERENCE = "tabship_reference_{metric}"  # gauge per metric in ESTIMATED_METRICS
PERFORMANCE_MARGIN = "tabship_performance_margin"  # gauge: allowed drop below the reference

# The job itself.
MODEL_VERSION = "tabship_monitor_model_version"  # gauge: the champion version it monitored
LAST_SUCCESS = "tabship_monitor_last_success_timestamp_seconds"  # gauge: unix time of success
FAILED = "tabship_monitor_failed"  # gauge: 1 when the last run failed, else 0


def live(metric: str) -> str:
    """The live gauge's name for METRIC (one of LIVE_METRICS)."""
    return LIVE.format(metric=metric)


def estimated(metric: str) -> str:
    """The estimated gauge's name for METRIC (one of ESTIMATED_METRICS)."""
    return ESTIMATED.format(metric=metric)


def reference(metric: str) -> str:
    """The reference gauge's name for METRIC (one of ESTIMATED_METRICS)."""
    return REFERENCE.format(metric=metric)


def all_names() -> list[str]:
    """Every metric name the job may push (the dashboards' and rules' tests check against it)."""
    return [
        DRIFT_PSI, DRIFT_ALARM, DRIFT_PSI_THRESHOLD, DRIFT_FEATURES_ALARMED, WINDOW_ROWS,
        WINDOW_MIN_ROWS, LIVE_LABELS, LIVE_MIN_LABELS, *map(live, LIVE_METRICS),
        *map(estimated, ESTIMATED_METRICS), *map(reference, ESTIMATED_METRICS),
        PERFORMANCE_MARGIN, MODEL_VERSION, LAST_SUCCESS, FAILED,
    ]  # fmt: skip
