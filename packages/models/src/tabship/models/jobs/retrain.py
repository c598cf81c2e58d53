"""The retrain job's wiring: cooldown -> labelled production rows -> a new dataset version ->
a challenger judged against the champion -> promote, or keep it as `challenger`.

The steps are feedback.py (log + labels to rows), tabship.data's ingest (the same schema and
quarantine as any source), job.train_run with a Challenge (gate plus DeLong's paired test) and
the registry's compare-and-set promotion. Every run is recorded with its trigger in
`artifacts/retrain/<model>/history.jsonl`; `state.json` beside it holds the cooldown's clock.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabship.data import (
    FieldSpec,
    Manifest,
    Project,
    atomic_write_json,
    fetch_version,
    ingest,
    list_versions,
    share_version,
)
from tabship.models.config import load_run_config
from tabship.models.feedback.config import TRIGGERS, RetrainConfig, load_retrain_config
from tabship.models.feedback.rows import (
    FeedbackBatch,
    add_user_file,
    append_feedback,
    labelled_rows,
)
from tabship.models.feedback.summary import RetrainOutcome
from tabship.models.jobs.monitor import (
    champion_reference,
    log_columns,
    model_logs,
    other_label,
    reports_folder,
)
from tabship.models.jobs.train_run import fault_point, train_run
from tabship.models.monitoring.labels import read_labels
from tabship.models.monitoring.logstore import compact, read_window
from tabship.models.monitoring.replicas import fetch_replica_logs
from tabship.models.progress import Progress
from tabship.models.promotion.verdict import Challenge
from tabship.models.registry.contract import Contract
from tabship.models.registry.registry import CHAMPION, Registry
from tabship.models.training.cache import cache_key

STATE, HISTORY = "state.json", "history.jsonl"


class RetrainError(RuntimeError):
    """The retrain cannot run; the message says why and what to do."""


class NoChampionError(RetrainError):
    """There is no champion to challenge: train one first (exit 4)."""


@dataclass(frozen=True)
class RetrainRequest:
    """What `tabship-models retrain` was asked."""

    trigger: str = "manual"
    report: Path | None = None  # the monitor report that caused it
    force: bool = False  # ignore the cooldown and the minimum of new rows
    data_file: Path | None = None  # a user's file of labelled rows, appended as feedback
    log_path: Path | None = None  # else the project's monitoring folder (tabship.data.logpaths)
    labels: Path | None = None  # folder of prediction_id,label files


def retrain_folder(project: Project, model_name: str) -> Path:
    """`artifacts/retrain/<model>/`: the history and the cooldown's clock."""
    return project.artifacts / "retrain" / model_name


def _cooldown_left(folder: Path, config: RetrainConfig, now: float) -> float:
    """Seconds until a retrain may start again (0: it may now)."""
    try:
        state = json.loads((folder / STATE).read_text(encoding="utf-8"))
        last = float(state["last_started"])
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        return 0.0
    return max(0.0, last + config.cooldown_hours * 3600 - now)


def _read_report(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RetrainError(f"{path}: not a readable monitor report ({error})") from None
    if not isinstance(report, dict):
        raise RetrainError(f"{path}: a monitor report is a JSON object")
    return report


def _latest_report(project: Project, model_name: str) -> Path | None:
    """The newest `tabship-models monitor` report of MODEL_NAME (folders are named by time)."""
    found = sorted(reports_folder(project, model_name).glob("*/report.json"))
    return found[-1] if found else None


def _record(folder: Path, outcome: RetrainOutcome) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / HISTORY).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(outcome.to_dict()) + "\n")


def retrain(
    project: Project, dataset: str | None, request: RetrainRequest, say: Progress
) -> RetrainOutcome:
    """One retrain of DATASET (default: the project's default); see the module's docstring."""
    if request.trigger not in TRIGGERS:
        raise RetrainError(f"unknown trigger {request.trigger!r} (one of {', '.join(TRIGGERS)})")
    started, clock = time.perf_counter(), time.time()
    run = load_run_config(project, dataset)
    config = load_retrain_config(run.files.retrain_config)
    name = run.train.model_name
    report_path = request.report
    if report_path is None and request.trigger not in ("manual", "schedule"):
        report_path = _latest_report(project, name)  # the alert came from the monitor's last run
    report = _read_report(report_path)
    registry = Registry.for_config(project, run.train)
    champion = registry.alias(CHAMPION)
    if champion is None:
        raise NoChampionError(
            f"{name} has no champion to challenge: train one first (invoke train)"
        )
    folder = retrain_folder(project, name)
    outcome = RetrainOutcome(
        status="skipped",
        dataset=run.data.name,
        model_name=name,
        trigger=request.trigger,
        champion=champion.version,
        report=str(report_path) if report_path else None,
        started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock)),
    )
    left = _cooldown_left(folder, config, clock)
    if left and not request.force:
        outcome.reasons.append(
            f"cooldown: the last retrain started less than {config.cooldown_hours:g} h ago; "
            f"the next may start in {left / 60:.0f} min (or give --force)"
        )
        return _finish(folder, outcome, started)
    # The clock starts now, before the work: a storm of alerts during a long run starts nothing.
    atomic_write_json(folder / STATE, {"last_started": clock, "trigger": request.trigger})

    feedback_dir = _feedback_dir(run.data.feedback_dir, name)
    # The champion's contract and dataset version, read once and handed to each step.
    _, contract, fields = champion_reference(champion)
    trained_on = _version_of(project, contract.dataset, contract.dataset_version)
    batch = _gather_feedback(project, feedback_dir, contract, fields, trained_on, request, say)
    outcome.feedback = batch.to_dict()
    if request.data_file is not None:
        added = add_user_file(feedback_dir, request.data_file)
        say(f"feedback: {request.data_file} added as {added.name}")
    fault_point("feedback")
    result = ingest(run.data, store=project.store)
    say(
        f"ingest: {result.rows_in:,} rows read, {result.rows_accepted:,} accepted, "
        f"{result.rows_quarantined:,} quarantined -> version {result.version}"
    )
    share_version(project, run.data.name, result.version)
    outcome.dataset_version = result.version
    new_rows = result.rows_accepted - int(trained_on.rows["accepted"])
    if new_rows < max(config.min_new_rows, 1) and not request.force:
        outcome.reasons.append(
            f"{new_rows} rows more than the champion's dataset version; min_new_rows is "
            f"{config.min_new_rows} (wait for labels, or give --force)"
        )
        return _finish(folder, outcome, started)

    challenge = Challenge(config.promotion, request.trigger, report)
    trained = train_run(project, run, cache_key(project, run), say, challenge, result.version)
    outcome.status = trained.status if trained.status != "gate_failed" else "refused"
    outcome.challenger = trained.model_version
    outcome.run_id = trained.run_id
    outcome.card_path = trained.card_path
    outcome.verdict = trained.verdict
    outcome.reasons += list((trained.verdict or {}).get("reasons", []))
    return _finish(folder, outcome, started)


def _finish(folder: Path, outcome: RetrainOutcome, started: float) -> RetrainOutcome:
    outcome.seconds = round(time.perf_counter() - started, 3)
    _record(folder, outcome)
    return outcome


def _feedback_dir(folder: Path | None, name: str) -> Path:
    if folder is None:
        raise RetrainError(
            f"{name}: the dataset has no feedback folder: set sources.feedback in its data.yaml "
            "(for example ../../../data/feedback/NAME)"
        )
    return folder


def _gather_feedback(
    project: Project,
    folder: Path,
    contract: Contract,
    fields: list[FieldSpec],
    trained_on: Manifest,
    request: RetrainRequest,
    say: Progress,
) -> FeedbackBatch:
    """The log's labelled rows that no feedback file holds yet, appended as a new file in FOLDER.
    CONTRACT, FIELDS and TRAINED_ON (its dataset version) are the champion's."""
    name = contract.model_name
    logs = model_logs(project, request.log_path, name)
    fetch_replica_logs(project, name, logs.predictions, say)
    compacted = compact(logs.predictions, logs.compacted, log_columns(fields))
    say(f"log: {compacted.rows_written:,} new predictions compacted from {logs.predictions}")
    logged = read_window(logs.compacted)
    negative = other_label(trained_on, contract.positive_label)
    labels = read_labels(request.labels or logs.labels, contract.positive_label, negative)
    if negative is None:
        raise RetrainError(f"{name}: the champion's dataset version does not name its other label")
    columns = list(trained_on.columns)
    if logged.height == 0 or labels.frame.height == 0:
        say("feedback: no labelled predictions yet")
        return FeedbackBatch(logged.height, 0, 0, 0, None)
    rows, conflicting = labelled_rows(
        logged,
        labels.frame,
        fields,
        columns,
        contract.target,
        (negative, contract.positive_label),
    )
    appended, path = append_feedback(folder, rows)
    say(
        f"feedback: {rows.height:,} labelled predictions, {appended:,} new "
        f"({conflicting} with conflicting labels left out)" + (f" -> {path.name}" if path else "")
    )
    return FeedbackBatch(
        logged.height, rows.height, conflicting, appended, str(path) if path else None
    )


def _version_of(project: Project, dataset: str, version: str) -> Manifest:
    """DATASET's VERSION, as the store lists it."""
    fetch_version(project, dataset, version)
    for manifest in list_versions(dataset, project.store):
        if manifest.version == version:
            return manifest
    raise RetrainError(f"{dataset}: version {version} is not in the store {project.store}")
