"""A training run's wiring: dataset -> features -> CV -> final fit -> holdout -> gate -> registry.

The steps are the pure functions of training/, and promotion/'s judging (the
gate, and for a retrain the paired test) and alias moves; this module only moves data between
them, the dataset store and MLflow.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException

from tabship.data import Project
from tabship.models.config import RunConfig, TrainConfig, file_digest
from tabship.models.monitoring.profile import (  # not jobs.monitor: no scipy
    REFERENCE_ARTIFACT,
    build_profile,
)
from tabship.models.progress import Progress
from tabship.models.promotion.gate import GateResult
from tabship.models.promotion.judge import (
    baseline_gains,
    judge,
    log_challenge,
    scoring_tags,
    settle,
)
from tabship.models.provenance import git_commit
from tabship.models.registry.contract import Contract, log_contract
from tabship.models.registry.registry import (
    BASELINE_GAINS,
    CHAMPION,
    CONFIGS_ARTIFACT,
    PIPELINE_ARTIFACT,
    PREVIOUS,
    REVIEW_TAG,
    Registry,
)
from tabship.models.result import TrainResult
from tabship.models.training import cache
from tabship.models.training.card import CardFacts, groups_for_card, importance_shares, write_card
from tabship.models.training.data import TrainingData, load_training_data
from tabship.models.training.fit import Trained, fit_model, training_columns
from tabship.models.tuning.log import log_search, search_for_card
from tabship.models.tuning.result import SearchResult

if TYPE_CHECKING:
    from tabship.models.promotion.verdict import Challenge
    from tabship.models.training.baseline import Baseline


def _versions() -> dict[str, str]:
    names = ("tabship-data", "tabship-features", "tabship-models", "lightgbm", "mlflow-skinny")
    found = {}
    for name in (*names, "pandas", "numpy", "scikit-learn"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _load_and_fit(
    project: Project, run: RunConfig, say: Progress, version: str | None = None
) -> tuple[TrainingData, Trained, float, SearchResult | None]:
    """The run's data (VERSION when the caller has just ingested it) and model, on the
    configured engine (after the search, when train.yaml asks for one); the ingest's seconds."""
    if run.train.engine == "dask":
        from tabship.models.dask.train import train_on_dask

        return (*train_on_dask(project, run, say), None)
    started = time.perf_counter()
    data = load_training_data(project, run.data, say, *training_columns(run), version=version)
    seconds = time.perf_counter() - started
    found: list[SearchResult] = []
    tuner = None
    if run.train.tune.enabled:
        from tabship.models.jobs.tune import study_tuner  # only a search pays for Optuna

        tuner = study_tuner(project, run, data.manifest.version, say, found)
    trained = fit_model(data, run.features, run.train, say, tuner)
    return data, trained, seconds, found[0] if found else None


def _log_run(
    data: TrainingData, config: TrainConfig, trained: Trained, tags: dict[str, str], pipeline: Path
) -> None:
    mlflow.set_tags(tags)
    mlflow.log_params(
        {
            # The parameters trained with: after a search, its best over train.yaml's.
            **{f"lgb.{k}": v for k, v in trained.config.lightgbm_params().items()},
            "folds": config.folds,
            "best_iteration": trained.cv.best_iteration,
            "threshold": config.threshold,
            "dataset_version": data.manifest.version,
        }
    )
    mlflow.log_metrics(
        {
            **{f"cv_mean_{k}": v for k, v in trained.cv.mean.items()},
            **{f"cv_std_{k}": v for k, v in trained.cv.std.items()},
            **{f"holdout_{k}": v for k, v in trained.holdout.items()},
        }
    )
    # The dataset's own content hash is its digest. (from_pandas would re-hash and infer a schema
    # from all rows, which costs seconds and says less.)
    with warnings.catch_warnings():
        # A local path matches two equivalent MLflow source types; MLflow warns and picks one.
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(data.version.path.resolve().as_uri())
    dataset = MetaDataset(  # type: ignore[abstract]  # MLflow's stub marks `profile` abstract
        source, name=f"{config.dataset}@{data.manifest.version}", digest=data.manifest.version
    )
    try:
        mlflow.log_input(dataset, context="training")
    except MlflowException:
        # MLflow's sqlite store gets-or-creates the dataset row without a lock: two runs at once
        # on the same version raced to insert it and one failed (UNIQUE constraint). The row
        # exists now, so a second try links to it.
        mlflow.log_input(dataset, context="training")
    mlflow.log_artifact(str(pipeline), str(Path(PIPELINE_ARTIFACT).parent))


def _log_inputs(configs: list[Path], train_seconds: float) -> None:
    """The config files the run read and its training time, for a review's diff (review/)."""
    for path in configs:
        mlflow.log_artifact(str(path), CONFIGS_ARTIFACT)
    mlflow.log_metric("train_seconds", train_seconds)


def _log_judging(
    run: RunConfig,
    data: TrainingData,
    trained: Trained,
    searched: SearchResult | None,
    baseline: dict[str, Any] | None,
) -> None:
    """The search, the monitoring reference and the baseline's figures, with the active run."""
    if searched is not None:
        log_search(searched, trained.holdout[searched.metric])
    # The reference the monitor job compares production with (JSON, no pickle).
    profile = build_profile(data.train, run.features, trained.cv.oof, data.y_train)
    mlflow.log_dict(profile.to_dict(), REFERENCE_ARTIFACT)
    if baseline is not None:
        mlflow.log_metrics({f"baseline_{k}": v for k, v in baseline["holdout"].items()})
        mlflow.log_dict(baseline["gains"], BASELINE_GAINS)


def train_run(
    project: Project,
    run: RunConfig,
    key: str,
    progress: Progress | None = None,
    challenge: Challenge | None = None,
    dataset_version: str | None = None,
    promote: bool = True,
) -> TrainResult:
    """Train, register and gate, with the configs already parsed and the cache key computed
    (and the DATASET_VERSION, when the caller has just ingested it).

    With a CHALLENGE (a retrain), the model is promoted only when the gate passes and it beats
    the champion in a paired test on the same holdout (promotion/verdict.py); otherwise it stays under
    the alias `challenger`, and its card says why.

    Without PROMOTE (a merge request's review), no alias moves: the status is `reviewed`, and
    the version is tagged `tabship.review`.

    The champion alias moves last, after the run, the model version and the card are complete, so
    a run killed at any point leaves `champion` and `previous` as they were.
    """
    say = progress or (lambda _: None)
    started = time.perf_counter()
    config = run.train
    timings: dict[str, float] = {}

    # The registry first: a store that cannot be read fails now, not after the training.
    registry = Registry.for_config(project, config)
    opening = time.perf_counter() - started
    say(f"ingest: dataset {config.dataset} (engine {config.engine})")
    data, trained, ingest_seconds, searched = _load_and_fit(project, run, say, dataset_version)
    timings["ingest"] = round(ingest_seconds, 3)
    timings["train"] = round(time.perf_counter() - started - opening - timings["ingest"], 3)
    fault_point("trained")

    baseline = _fit_baseline(run, data, say)
    gains, on_card = None, None
    if baseline is not None:
        gains = baseline_gains(run, data, trained.score, baseline.score)
        on_card = baseline.for_card({m: g.to_dict() for m, g in gains.items()})
    say("registry: scoring the champion on this holdout, then registering the candidate")
    champion = registry.alias(CHAMPION)
    gate, verdict = judge(run, data, trained, gains, registry, champion, challenge)
    if verdict is not None:
        say(f"challenger: {'; '.join(verdict.reasons)}")
    fault_point("judged")  # the champion it compared with is read: another run may move it now
    commit = git_commit(project.root)
    fields = data.version.request_fields(run.data)
    with (
        tempfile.TemporaryDirectory(prefix="tabship-run-") as scratch,
        mlflow.start_run(experiment_id=registry.experiment_id) as mlflow_run,
    ):
        run_id = mlflow_run.info.run_id
        pipeline_file = Path(scratch) / Path(PIPELINE_ARTIFACT).name
        trained.pipeline.save(pipeline_file)
        tags = {
            "tabship.cache_key": key,
            "tabship.dataset": config.dataset,
            "tabship.git_commit": commit,
            "tabship.gate": "passed" if gate.passed else "failed",
            **scoring_tags(data, config.threshold),
            **({} if promote else {REVIEW_TAG: "true"}),
        }
        _log_run(data, config, trained, tags, pipeline_file)
        _log_inputs(cache.config_files(project, run), timings["train"])
        if challenge is not None and verdict is not None:
            log_challenge(challenge, verdict)
        _log_judging(run, data, trained, searched, on_card)
        fault_point("logged")
        version = registry.register(trained.booster, run_id, candidate=promote)
        contract = Contract(
            run_id=run_id,
            model_name=config.model_name,
            dataset=config.dataset,
            dataset_version=data.manifest.version,
            schema_hash=data.manifest.schema_hash,
            target=data.target,
            positive_label=run.data.target.positive,
            threshold=config.threshold,
            git_commit=commit,
        )
        log_contract(registry, version, fields, pipeline_file, contract)
        fault_point("registered")
        facts = replace(
            _card_facts(run, data, trained, gate, on_card, version.version, run_id, commit),
            challenge=verdict.to_dict() if verdict else None,
            search=search_for_card(searched, trained.holdout) if searched else None,
        )
        card_folder = project.artifacts / "models" / config.model_name / f"v{version.version}"
        card = write_card(card_folder, facts, data.y_holdout, trained.score)
        mlflow.log_artifacts(str(card_folder), "model_card")
    fault_point("carded")
    status = settle(registry, version, gate.passed, verdict, champion) if promote else "reviewed"

    champion, previous = registry.alias(CHAMPION), registry.alias(PREVIOUS)
    timings["registry"] = round(
        time.perf_counter() - started - timings["ingest"] - timings["train"], 3
    )
    result = TrainResult(
        status=status,
        model_name=config.model_name,
        model_version=version.version,
        run_id=run_id,
        dataset_version=data.manifest.version,
        cv_mean=trained.cv.mean,
        cv_std=trained.cv.std,
        holdout=trained.holdout,
        best_iteration=trained.cv.best_iteration,
        gate_passed=gate.passed,
        gate_table=gate.table(),
        gate_failures=[c.name for c in gate.failures],
        champion=champion.version if champion else None,
        previous=previous.version if previous else None,
        card_path=str(card),
        tracking_uri=registry.uri,
        timings=timings,
        seconds=round(time.perf_counter() - started, 3),
        verdict=verdict.to_dict() if verdict else None,
        search=facts.search,
    )
    cache.write_record(project, key, result)
    return result


def _fit_baseline(run: RunConfig, data: TrainingData, say: Progress) -> Baseline | None:
    """The gate's baseline on the same split, when the gate names one."""
    if not run.gate.baseline:
        return None
    from tabship.models.training.baseline import fit_baseline  # only gates that name one pay for it

    say(f"baseline: {run.gate.baseline} on the same split, for the gate")
    config = run.train
    return fit_baseline(run.gate.baseline, data, run.features, config.threshold, config.seed)


def _card_facts(
    run: RunConfig,
    data: TrainingData,
    trained: Trained,
    gate: GateResult,
    baseline: dict[str, Any] | None,
    version: str,
    run_id: str,
    commit: str,
) -> CardFacts:
    config, files = run.train, run.files
    return CardFacts(
        model_name=config.model_name,
        model_version=version,
        run_id=run_id,
        dataset=config.dataset,
        dataset_version=data.manifest.version,
        schema_hash=data.manifest.schema_hash,
        config_hash=file_digest(files.train_config, files.gate_config, files.features_config),
        git_commit=commit,
        packages=_versions(),
        best_iteration=trained.cv.best_iteration,
        cv_mean=trained.cv.mean,
        cv_std=trained.cv.std,
        holdout=trained.holdout,
        holdout_rows=len(data.holdout),
        train_rows=data.rows_trained,
        groups=groups_for_card(trained.groups),
        feature_importance=importance_shares(
            trained.pipeline.feature_names,
            [float(g) for g in trained.booster.feature_importance("gain")],
        ),
        gate=[asdict(c) for c in gate.checks],
        gate_passed=gate.passed,
        baseline=baseline,
    )


def fault_point(name: str) -> None:
    """Die here when TABSHIP_FAULT_AT names this point: tests kill a run at each step this way.
    Or wait here when TABSHIP_PAUSE_AT names it: the run writes `<pid>.waiting` into the folder
    TABSHIP_PAUSE_DIR and goes on once `go` appears there (at most 10 minutes), so that a test
    can hold two runs at one point and release them together (a promotion race)."""
    if os.environ.get("TABSHIP_FAULT_AT") == name:
        os._exit(137)
    if os.environ.get("TABSHIP_PAUSE_AT") == name and os.environ.get("TABSHIP_PAUSE_DIR"):
        folder = Path(os.environ["TABSHIP_PAUSE_DIR"])
        (folder / f"{os.getpid()}.waiting").touch()
        deadline = time.monotonic() + 600
        while not (folder / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
