"""The monitor job's wiring: compact the prediction log, take the newest window of the champion's
predictions, and measure drift, the label-free estimate and live performance against the
champion's reference profile (saved with its run at train time). The steps are the pure
functions of drift.py, estimate.py and performance.py; this module moves data between them, the
log, the label files, the report folder and a Pushgateway.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import polars as pl

from tabship.data import (
    FieldSpec,
    Manifest,
    ModelLogs,
    Project,
    atomic_write_json,
    fetch_version,
    fields_from_json,
    list_versions,
)
from tabship.models.config import load_train_config
from tabship.models.monitoring.drift import DriftReport, detect_drift
from tabship.models.monitoring.estimate import estimate_performance
from tabship.models.monitoring.gauges import SCORE_FEATURE
from tabship.models.monitoring.labels import read_labels
from tabship.models.monitoring.logstore import compact, read_window
from tabship.models.monitoring.performance import live_performance
from tabship.models.monitoring.profile import REFERENCE_ARTIFACT, Profile, profile_from_dict
from tabship.models.monitoring.replicas import fetch_replica_logs
from tabship.models.monitoring.shadow import shadow_report
from tabship.models.progress import Progress
from tabship.models.registry.contract import CONTRACT_ARTIFACT, CONTRACT_FILE, Contract
from tabship.models.registry.files import FIELDS_FILE
from tabship.models.registry.registry import CHALLENGER, CHAMPION, Registry, VersionInfo


class MonitorError(RuntimeError):
    """The monitor cannot run: no champion, or a champion without a reference profile."""


@dataclass(frozen=True)
class MonitorSettings:
    """What `tabship-models monitor` is told; every path defaults to the project's monitoring/."""

    window_rows: int = 10_000
    min_labels: int = 200
    margin: float = 0.02  # how far live or estimated figures may fall below the reference
    log_path: Path | None = None  # else the project's monitoring folder (tabship.data.logpaths)
    labels: Path | None = None  # folder of prediction_id,label CSV files
    plots: bool = True


def model_logs(project: Project, log_path: Path | None, model_name: str) -> ModelLogs:
    """MODEL_NAME's folder (its logs, labels and compacted parquet) in LOG_PATH (`--log`), else in
    the project's monitoring folder: the one the service logs to (tabship.data.logpaths)."""
    return ModelLogs.under(log_path, model_name) if log_path else project.model_logs(model_name)


def champion_reference(info: VersionInfo) -> tuple[Profile, Contract, list[FieldSpec]]:
    """The champion's reference profile, its serving contract (threshold, positive label) and
    its request fields (every column the service logs)."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as folder:
        try:
            profile = mlflow.artifacts.download_artifacts(
                run_id=info.run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=folder
            )
            contract = mlflow.artifacts.download_artifacts(
                run_id=info.run_id, artifact_path=CONTRACT_ARTIFACT, dst_path=folder
            )
        except (MlflowException, OSError):
            raise MonitorError(
                f"{info.name} version {info.version} has no reference profile (it predates "
                "tabship-models 0.4): train again (invoke train --force)"
            ) from None
        raw = json.loads(Path(profile).read_text(encoding="utf-8"))
        text = (Path(contract) / CONTRACT_FILE).read_text(encoding="utf-8")
        fields = fields_from_json((Path(contract) / FIELDS_FILE).read_text(encoding="utf-8"))
        return profile_from_dict(raw), Contract.from_json(text, Path(folder)), fields


def log_columns(fields: list[FieldSpec]) -> dict[str, pl.DataType]:
    """The dtypes the compacted log keeps each request field in: numbers as floats (JSON does
    not say which numbers are integers), everything else as text."""
    numeric = ("integer", "number")
    return {f.name: pl.Float64() if f.kind in numeric else pl.String() for f in fields}


def negative_label(project: Project, contract: Contract) -> str | None:
    """The dataset's other label, from the manifest of the version the champion learnt from."""
    fetch_version(project, contract.dataset, contract.dataset_version)
    for manifest in list_versions(contract.dataset, project.store):
        if manifest.version == contract.dataset_version:
            return other_label(manifest, contract.positive_label)
    return None


def other_label(manifest: Manifest, positive: str) -> str | None:
    """The label of MANIFEST's target that is not POSITIVE (None unless there is exactly one)."""
    others = [v for v in manifest.target.get("labels", []) if v != positive]
    return str(others[0]) if len(others) == 1 else None


def bin_shares(profile: Profile, feature: str, values: pd.Series) -> dict[str, list[Any]]:
    """The reference's and the window's share of each of FEATURE's bins, for the plots."""
    for numeric in (*profile.numeric, profile.score):
        if numeric.name == feature or (numeric is profile.score and feature == SCORE_FEATURE):
            edges = list(numeric.edges)
            labels = [f"<= {edges[0]:g}"] if edges else ["all"]
            labels += [f"({a:g}, {b:g}]" for a, b in pairwise(edges)]
            labels += [f"> {edges[-1]:g}"] if edges else []
            data = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
            present = data[np.isfinite(data)]
            counts = np.bincount(np.searchsorted(edges, present, side="left"),
                                 minlength=len(labels))  # fmt: skip
            window = [float(c) / max(len(data), 1) for c in counts]
            missing = 1 - len(present) / max(len(data), 1)
            return {"labels": [*labels, "missing"],
                    "reference": [*numeric.shares, numeric.missing],
                    "window": [*window, missing]}  # fmt: skip
    for categorical in profile.categorical:
        if categorical.name == feature:
            text = values.astype("string")
            total = max(len(text), 1)
            names = list(categorical.shares)
            seen = {str(k): int(v) / total for k, v in text.value_counts(dropna=True).items()}
            missing = float(text.isna().sum()) / total
            unseen = float(sum(v for k, v in seen.items() if k not in names))
            return {"labels": [*names, "missing", "unseen"],
                    "reference": [*categorical.shares.values(), categorical.missing, 0.0],
                    "window": [*(float(seen.get(n, 0.0)) for n in names), missing, unseen]}  # fmt: skip
    return {}


def monitor(
    project: Project,
    dataset: str | None,
    settings: MonitorSettings,
    say: Progress,
    pushgateway: str | None = None,
) -> tuple[dict[str, Any], Path]:
    """`tabship-models monitor`: one run, its report written (and pushed to PUSHGATEWAY); the
    report and its folder. A run that fails for any reason but a missing champion pushes a
    failure, so that a dashboard shows a monitor that stopped working."""
    from tabship.models.monitoring.push import push_failure, push_report

    try:
        report = run_monitor(project, dataset, settings, say)
    except MonitorError:
        raise
    except Exception:
        if pushgateway:
            push_failure(pushgateway, load_train_config(project.dataset(dataset)).model_name)
        raise
    folder = write_report(project, report, settings.plots)
    if pushgateway:
        push_report(pushgateway, report)
    return report, folder


def run_monitor(
    project: Project, dataset: str | None, settings: MonitorSettings, say: Progress
) -> dict[str, Any]:
    """One monitor run over DATASET's champion; returns the JSON-ready report."""
    config = load_train_config(project.dataset(dataset))
    registry = Registry.for_config(project, config)
    champion = registry.alias(CHAMPION)
    if champion is None:
        raise MonitorError(f"{config.model_name} has no champion: train one first (invoke train)")
    profile, contract, fields = champion_reference(champion)
    threshold = contract.threshold
    metrics = registry.run_metrics(champion.run_id)
    reference = {m: metrics.get(f"holdout_{m}") for m in ("roc_auc", "accuracy")}

    logs = model_logs(project, settings.log_path, config.model_name)
    fetch_replica_logs(project, config.model_name, logs.predictions, say)
    say(f"log: compacting {logs.predictions}")
    compacted = compact(logs.predictions, logs.compacted, log_columns(fields))
    window = read_window(logs.compacted, settings.window_rows, champion.version)
    say(f"window: {window.height:,} predictions of version {champion.version}")
    frame = window.to_pandas() if window.height else pd.DataFrame()
    names = [f.name for f in profile.numeric] + [f.name for f in profile.categorical]
    scores = frame["score"].to_numpy(np.float64) if window.height else np.zeros(0)
    features = frame[names] if window.height else pd.DataFrame(columns=names)
    drift = detect_drift(profile, features, scores)
    estimate = estimate_performance(profile, scores, threshold)

    labels = read_labels(
        settings.labels or logs.labels,
        contract.positive_label,
        negative_label(project, contract),
    )
    predictions = pd.DataFrame(
        {
            "prediction_id": frame["prediction_id"] if window.height else [],
            "score": scores,
            "threshold": threshold,
        }
    )
    label_rows = labels.frame.to_pandas()
    live = live_performance(predictions, label_rows, settings.min_labels)
    shadow = shadow_report(
        registry.alias(CHALLENGER),
        champion.version,
        logs.shadow,
        logs.compacted_shadow,
        predictions,
        label_rows,
        settings.min_labels,
    )
    report = {
        "status": _status(drift, estimate.metrics(), live.metrics(), reference, settings.margin),
        "model_name": config.model_name,
        "model_version": champion.version,
        "run_id": champion.run_id,
        "dataset": config.dataset,
        "threshold": threshold,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "window": {
            "rows": window.height,
            "limit": settings.window_rows,
            "first": str(window["ts"].min()) if window.height else None,
            "last": str(window["ts"].max()) if window.height else None,
        },
        "log": compacted.to_dict(),
        "drift": _with_bins(drift.to_dict(), profile, features.assign(**{SCORE_FEATURE: scores})),
        "estimated": estimate.to_dict(),
        "live": live.to_dict(),
        "labels": {"files": labels.files, "bad": labels.bad[:20], "bad_count": len(labels.bad)},
        "reference": reference,
        "margin": settings.margin,
        "shadow": shadow,  # the challenger beside the champion (shadow mode), or None
    }
    return report


def _with_bins(report: dict[str, Any], profile: Profile, window: pd.DataFrame) -> dict[str, Any]:
    """The drift report, with each drifted feature's bin shares (for its plot)."""
    for feature in report["features"]:
        if feature["verdict"] == "drift" and feature["feature"] in window.columns:
            feature["bins"] = bin_shares(profile, feature["feature"], window[feature["feature"]])
    return report


def _status(
    drift: DriftReport,
    estimated: dict[str, float],
    live: dict[str, float],
    reference: dict[str, float | None],
    margin: float,
) -> str:
    """`drift`, `degraded` (live or estimated below the reference by more than the margin),
    `ok`, or `not_enough_data` when the window is too small for a verdict."""
    if not drift.enough_data:
        return "not_enough_data"
    for figures in (live, estimated):
        for metric, value in figures.items():
            limit = reference.get(metric)
            if limit is not None and metric in ("roc_auc", "accuracy") and value < limit - margin:
                return "degraded"
    return "drift" if drift.drifted else "ok"


def reports_folder(project: Project, model_name: str) -> Path:
    """`artifacts/monitoring/<model>/`: a folder per monitor run, named by its time."""
    return project.artifacts / "monitoring" / model_name


def write_report(project: Project, report: dict[str, Any], plots: bool) -> Path:
    """report.json (and the plots) in artifacts/monitoring/<model>/<time>/; the run is appended
    to the model's history.jsonl, which the performance plot draws."""
    from tabship.models.monitoring.plots import performance_plot, shares_plot

    base = reports_folder(project, report["model_name"])
    folder = base / report["created_at"].replace(":", "")
    folder.mkdir(parents=True, exist_ok=True)
    history_entry = {
        "created_at": report["created_at"],
        "model_version": report["model_version"],
        "live": {k: report["live"].get(k) for k in ("roc_auc", "accuracy")},
        "estimated": {k: report["estimated"].get(k) for k in ("roc_auc", "accuracy")},
        "reference": report["reference"],
    }
    with (base / "history.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(history_entry) + "\n")
    written = []
    if plots:
        history = [
            json.loads(line)
            for line in (base / "history.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        written.append(performance_plot(folder / "performance.png", history).name)
        for feature in report["drift"]["features"]:
            if feature["verdict"] == "drift" and feature.get("bins"):
                path = folder / f"drift-{feature['feature']}.png"
                bins = feature["bins"]
                shares_plot(path, feature["feature"], bins["labels"], bins["reference"],
                            bins["window"], feature["psi"])  # fmt: skip
                written.append(path.name)
    report["plots"] = written
    report["folder"] = str(folder)
    atomic_write_json(folder / "report.json", report)
    return Path(folder)
