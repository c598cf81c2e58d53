"""The Grafana dashboards of configs/monitoring/dashboards/, as code.

Plain dictionaries in Grafana's dashboard JSON model (schemaVersion 39), written by
`python -m tabship_dev dashboards`; the JSON files are committed so that they can be imported
or provisioned as they are, and tests/monitoring checks that they match this module. Every panel
reads the data source from the `datasource` template variable and has a unit and a description
(grafana/dashboard-linter's rules); rates use `$__rate_interval`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tabship_dev.workspace import ROOT

FOLDER = ROOT / "configs" / "monitoring" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SERVING = 'job="tabship-serving", instance=~"$instance"'
MONITOR = 'job="tabship_monitor", model_name="$model_name"'
API = 'endpoint=~"/predict|/predict_one|/explain|/predict_columns"'
WIDTH, HEIGHT = 12, 8  # two panels a row

Panel = dict[str, Any]


def target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    """One Prometheus query of a panel."""
    return {"refId": ref, "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}


def panel(
    title: str, description: str, unit: str, *queries: tuple[str, str], kind: str = "timeseries"
) -> Panel:
    """A panel of KIND showing QUERIES ((expression, legend) pairs) in UNIT."""
    refs = "ABCDEFGH"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [target(expr, legend, refs[i]) for i, (expr, legend) in enumerate(queries)],
    }


def variable(name: str, label: str, query: str, *, multi: bool = False) -> dict[str, Any]:
    """A query variable read from the `datasource` variable's Prometheus."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "refresh": 2,  # on time range change: new models and features appear
        "includeAll": multi,
        "multi": multi,
        **({"allValue": ".*"} if multi else {}),
        "current": {},
        "options": [],
        "sort": 1,
    }


def dashboard(
    uid: str, title: str, description: str, variables: list[dict[str, Any]], panels: list[Panel]
) -> dict[str, Any]:
    """A dashboard with the datasource variable first and PANELS laid out two a row."""
    source = {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "options": [],
        "refresh": 1,
        "regex": "",
    }
    for number, item in enumerate(panels):
        item["id"] = number + 1
        item["gridPos"] = {
            "x": (number % 2) * WIDTH, "y": (number // 2) * HEIGHT, "w": WIDTH, "h": HEIGHT
        }  # fmt: skip
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["tabship"],
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "timezone": "browser",
        "templating": {"list": [source, *variables]},
        "annotations": {"list": []},
        "panels": panels,
    }


INSTANCE = variable("instance", "Instance", 'label_values(up{job="tabship-serving"}, instance)',
                    multi=True)  # fmt: skip
MODEL = variable("model_name", "Model", "label_values(tabship_monitor_window_rows, model_name)")


def service_health() -> dict[str, Any]:
    """Traffic, errors, latency against the SLO, and what is served."""
    return dashboard(
        "tabship-service-health", "tabship / Service health",
        "The BentoML service: traffic, 5xx, latency against the SLO, the model served.",
        [INSTANCE],
        [
            panel("Requests by endpoint and status",
                  "Requests per second to every endpoint, by HTTP status.", "reqps",
                  (f"sum by (endpoint, http_response_code) (rate(bentoml_service_request_total"
                   f"{{{SERVING}}}[$__rate_interval]))", "{{endpoint}} {{http_response_code}}")),
            panel("5xx ratio (prediction endpoints)",
                  "Share of prediction answers that are server errors; TabshipHighErrorRatio "
                  "pages above 5% for 5 minutes. 4xx are client errors and are not counted.",
                  "percentunit",
                  (f'sum(rate(bentoml_service_request_total{{{SERVING}, {API}, '
                   f'http_response_code=~"5.."}}[$__rate_interval])) / sum(rate('
                   f"bentoml_service_request_total{{{SERVING}, {API}}}[$__rate_interval]))",
                   "5xx ratio")),
            panel("Latency p50 / p99 by endpoint",
                  "Answer time quantiles from BentoML's request duration histogram.", "s",
                  (f"histogram_quantile(0.5, sum by (endpoint, le) (rate("
                   f"bentoml_service_request_duration_seconds_bucket{{{SERVING}, {API}}}"
                   f"[$__rate_interval])))", "p50 {{endpoint}}"),
                  (f"histogram_quantile(0.99, sum by (endpoint, le) (rate("
                   f"bentoml_service_request_duration_seconds_bucket{{{SERVING}, {API}}}"
                   f"[$__rate_interval])))", "p99 {{endpoint}}")),
            panel("Latency SLO: share of slow answers",
                  "Share of /predict and /predict_one answers slower than 0.5 s (the SLO allows "
                  "1%) over the burn-rate alert's windows (recording rules).", "percentunit",
                  ("job:tabship_api_slow:ratio_rate5m", "5m"),
                  ("job:tabship_api_slow:ratio_rate1h", "1h"),
                  ("job:tabship_api_slow:ratio_rate6h", "6h")),
            panel("Requests in progress",
                  "Requests being answered at scrape time, by endpoint.", "short",
                  (f"sum by (endpoint) (bentoml_service_request_in_progress{{{SERVING}}})",
                   "{{endpoint}}")),
            panel("Up", "1 when Prometheus scraped the instance, 0 when it could not.", "none",
                  (f"up{{{SERVING}}}", "{{instance}}"), kind="stat"),
            panel("Model served",
                  "The model each instance serves (tabship_model_info's labels; a model "
                  "swapped out keeps its series at 0).", "none",
                  (f"tabship_model_info{{{SERVING}}} == 1",
                   "{{model_name}} v{{model_version}} data {{dataset_version}}"), kind="table"),
            panel("Firing tabship alerts", "How many tabship alerts fire now, by name.", "none",
                  ('count by (alertname) (ALERTS{alertstate="firing", alertname=~"Tabship.*"})',
                   "{{alertname}}"), kind="stat"),
        ],
    )  # fmt: skip


def predictions() -> dict[str, Any]:
    """What the model answers: the score distribution and the inputs' problems."""
    return dashboard(
        "tabship-predictions", "tabship / Prediction distribution",
        "Scores served and input problems, from the service's own metrics.",
        [INSTANCE],
        [
            panel("Score distribution",
                  "Scores served per bucket of 0.1 (tabship_prediction_score), all endpoints.",
                  "short",
                  (f"sum by (le) (increase(tabship_prediction_score_bucket{{{SERVING}}}"
                   f"[$__rate_interval]))", "{{le}}"), kind="heatmap"),
            panel("Mean score",
                  "Mean predicted probability of the positive class.", "percentunit",
                  (f"sum(rate(tabship_prediction_score_sum{{{SERVING}}}[$__rate_interval])) / "
                   f"sum(rate(tabship_prediction_score_count{{{SERVING}}}[$__rate_interval]))",
                   "mean score")),
            panel("Share of scores above 0.5",
                  "Share of scores above 0.5 (the default threshold; the model's own may differ).",
                  "percentunit",
                  (f'1 - sum(rate(tabship_prediction_score_bucket{{{SERVING}, le="0.5"}}'
                   f"[$__rate_interval])) / sum(rate(tabship_prediction_score_count{{{SERVING}}}"
                   f"[$__rate_interval]))", "above 0.5")),
            panel("Records scored by endpoint",
                  "Records (rows) scored per second; a /predict request may carry many.", "cps",
                  (f"sum by (endpoint) (rate(tabship_records_scored_total{{{SERVING}}}"
                   f"[$__rate_interval]))", "{{endpoint}}")),
            panel("Missing values by field",
                  "Records per second with a null in each nullable field.", "cps",
                  (f"sum by (field) (rate(tabship_missing_values_total{{{SERVING}}}"
                   f"[$__rate_interval]))", "{{field}}")),
            panel("Unknown categories by field",
                  "Values per second of a category the model did not see in training.", "cps",
                  (f"sum by (field) (rate(tabship_unknown_categories_total{{{SERVING}}}"
                   f"[$__rate_interval]))", "{{field}}")),
        ],
    )  # fmt: skip


def drift() -> dict[str, Any]:
    """PSI per feature from the monitor job, against its threshold."""
    feature = variable("feature", "Feature",
                       'label_values(tabship_drift_psi{model_name="$model_name"}, feature)',
                       multi=True)  # fmt: skip
    return dashboard(
        "tabship-drift", "tabship / Drift per feature",
        "The monitor job's drift figures (Pushgateway): PSI per feature, and its verdicts.",
        [MODEL, feature],
        [
            panel("PSI per feature",
                  "Population stability index of each feature (and of the score, __score__) "
                  "between the champion's reference and the last window; the line is the usual "
                  "0.1 rule of thumb, for the eye: the verdict is the drift alarm below.", "none",
                  (f'tabship_drift_psi{{{MONITOR}, feature=~"$feature"}}', "{{feature}}"),
                  (f"tabship_drift_psi_threshold{{{MONITOR}}}", "PSI 0.1")),
            panel("Features flagged",
                  "How many features the last run flagged as drifted.", "none",
                  (f"tabship_drift_features_alarmed{{{MONITOR}}}", "flagged"), kind="stat"),
            panel("Drift alarm per feature",
                  "1 when the last run flagged the feature, else 0.", "none",
                  (f'tabship_drift_alarm{{{MONITOR}, feature=~"$feature"}}', "{{feature}}"),
                  kind="state-timeline"),
            panel("Window size",
                  "Logged predictions in the last window, and the minimum for a verdict.",
                  "short",
                  (f"tabship_monitor_window_rows{{{MONITOR}}}", "rows"),
                  (f"tabship_monitor_window_min_rows{{{MONITOR}}}", "minimum")),
            panel("Time since the monitor's last push",
                  "Age of the monitor job's last push (Pushgateway) and last success.", "s",
                  (f"time() - push_time_seconds{{{MONITOR}}}", "last push"),
                  (f"time() - tabship_monitor_last_success_timestamp_seconds{{{MONITOR}}}",
                   "last success"), kind="stat"),
            panel("Monitor job failed", "1 when the monitor job's last run failed.", "none",
                  (f"tabship_monitor_failed{{{MONITOR}}}", "failed"), kind="stat"),
        ],
    )  # fmt: skip


def performance() -> dict[str, Any]:
    """Live figures (with labels) beside the label-free estimate and the champion's holdout."""

    def metric(name: str, title: str, unit: str) -> Panel:
        return panel(
            title,
            f"{title}: live (labelled predictions), estimated (label-free) and the champion's "
            f"holdout figure; below holdout minus the margin, an alert fires.", unit,
            (f"tabship_live_{name}{{{MONITOR}}}", "live"),
            (f"tabship_estimated_{name}{{{MONITOR}}}", "estimated"),
            (f"tabship_reference_{name}{{{MONITOR}}}", "champion holdout"),
            (f"tabship_reference_{name}{{{MONITOR}}} - tabship_performance_margin{{{MONITOR}}}",
             "alert below"),
        )  # fmt: skip

    return dashboard(
        "tabship-performance", "tabship / Live vs estimated accuracy",
        "The monitor job's performance figures (Pushgateway) against the champion's holdout.",
        [MODEL],
        [
            metric("roc_auc", "ROC-AUC", "none"),
            metric("accuracy", "Accuracy", "percentunit"),
            panel("Calibration",
                  "Brier score and calibration error on labelled live predictions (lower is "
                  "better).", "none",
                  (f"tabship_live_brier{{{MONITOR}}}", "Brier"),
                  (f"tabship_live_calibration_error{{{MONITOR}}}", "calibration error")),
            panel("Labels in the window",
                  "Labelled predictions in the window; below the minimum no live figure is "
                  "pushed.", "short",
                  (f"tabship_live_labels{{{MONITOR}}}", "labels"),
                  (f"tabship_live_min_labels{{{MONITOR}}}", "minimum")),
            panel("Monitored model version",
                  "The champion version the monitor job checked.", "none",
                  (f"tabship_monitor_model_version{{{MONITOR}}}", "version"), kind="stat"),
        ],
    )  # fmt: skip


BUILDERS = {
    "service-health.json": service_health,
    "predictions.json": predictions,
    "drift.json": drift,
    "performance.json": performance,
}


def render() -> dict[str, str]:
    """File name to JSON text, for every dashboard."""
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in BUILDERS.items()}


def write(folder: Path = FOLDER) -> list[Path]:
    """Write every dashboard into FOLDER; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render().items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths


def stale(folder: Path = FOLDER) -> list[str]:
    """The dashboards whose file in FOLDER is missing or differs from this module."""
    return [
        name
        for name, text in render().items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]
