"""The hyperparameter search: seeded TPE over train.yaml's space, each trial one k-fold CV of
the training split (training/fit.py's), pruned round by round, within a trial and a time budget.

It sees the training matrix only: the holdout is not an argument, so it cannot leak in.

Reproducible, and resumable with the same result: trials run one at a time, and trial k's
sampler is seeded with (seed + k, k counting finished trials), so what it proposes depends only
on the seed and the trials stored before it. A search killed mid-trial, or cut by its time
budget, leaves that trial unfinished (ignored by the sampler and the pruner), and the next run
proposes the same parameters again. Optuna's own `seed=` seeds one generator per process, so a
resumed study would draw differently from an uninterrupted one (and its default, the constant
liar, lets a dead RUNNING trial steer the sampler): both are avoided here.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

import lightgbm as lgb
import optuna
from optuna.trial import FrozenTrial, Trial, TrialState
from optuna_integration import LightGBMPruningCallback

from tabship.features import FittedPipeline
from tabship.models.config import TrainConfig
from tabship.models.progress import Progress
from tabship.models.training.fit import Matrix, cross_validate, make_dataset
from tabship.models.training.metrics import Labels
from tabship.models.tuneconfig import LIGHTGBM_METRICS, Param
from tabship.models.tuning.result import SearchResult, TrialRecord

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
STARTUP = 10  # random trials before TPE models the results (Optuna's default), at most a third
REPORT_EVERY = 10  # rounds between the CV values reported to the pruner (each is a DB write)
HEARTBEAT = 10  # seconds; a RUNNING trial silent for GRACE is a dead process's, marked failed
GRACE = 60


class OutOfTimeError(Exception):
    """The search's time budget ran out during a trial."""


class SearchError(Exception):
    """A trial failed for a reason other than the time budget (one line)."""


def _suggest(trial: Trial, param: Param) -> float | int:
    if param.integer:
        return trial.suggest_int(param.name, int(param.low), int(param.high), log=param.log)
    return trial.suggest_float(param.name, param.low, param.high, log=param.log)


def _deadline(at: float) -> Callable[[lgb.callback.CallbackEnv], None]:
    def check(_: lgb.callback.CallbackEnv) -> None:
        if time.monotonic() >= at:
            raise OutOfTimeError

    return check


def open_study(
    storage_url: str, name: str, direction: Literal["maximize", "minimize"]
) -> optuna.Study:
    """STORAGE_URL's study NAME, created or continued; stale trials of dead runs marked failed."""
    # Its WARNING names a trial the time budget cut with a traceback; the run says it in one line.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.RDBStorage(
            storage_url, heartbeat_interval=HEARTBEAT, grace_period=GRACE
        )
        study = optuna.create_study(
            storage=storage, study_name=name, direction=direction, load_if_exists=True,
            # Stop a trial below the median of the finished ones at the same round, after 5
            # finished trials and from round 20 (the first rounds of any model look alike).
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=20),
        )  # fmt: skip
        optuna.storages.fail_stale_trials(study)
    return study


def finished(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=FINISHED)


def search(
    x: Matrix,
    y: Labels,
    pipeline: FittedPipeline,
    config: TrainConfig,
    study: optuna.Study,
    say: Progress,
) -> SearchResult:
    """Run CONFIG.tune's search on the training matrix X and labels Y, in STUDY (continued where
    it stopped), and return what it found."""
    tune = config.tune
    space = tune.space_for(len(y))
    started = time.monotonic()
    deadline = started + tune.timeout_seconds
    done = len(finished(study))
    if done:
        say(f"search: study {study.study_name}: {done} of {tune.trials} trials already done")
    new, stopped = 0, "trials"
    startup = max(1, min(STARTUP, tune.trials // 3))
    lgb_metric = LIGHTGBM_METRICS[tune.metric]

    def objective(trial: Trial) -> float:
        params = {p.name: _suggest(trial, p) for p in space}
        trial_config = replace(config, params={**config.params, **params})
        dataset = make_dataset(x, y, pipeline.feature_names, pipeline.categorical_indices)
        watch: list[Callable[..., None]] = [_deadline(deadline)]
        if tune.pruning:
            watch.append(LightGBMPruningCallback(trial, lgb_metric, report_interval=REPORT_EVERY))
        cv = cross_validate(dataset, x, y, trial_config, watch=watch, metrics=[lgb_metric])
        trial.set_user_attr("rounds", cv.best_iteration)
        return cv.mean[tune.metric]

    while done < tune.trials:
        if time.monotonic() >= deadline:
            stopped = "time"
            break
        study.sampler = optuna.samplers.TPESampler(
            seed=config.seed + done, n_startup_trials=startup, constant_liar=False
        )
        study.optimize(objective, n_trials=1, catch=(OutOfTimeError,))
        last = study.get_trials(deepcopy=False)[-1]
        if last.state not in FINISHED:
            if time.monotonic() < deadline:  # not cut by the budget: a NaN metric, say
                reason = last.system_attrs.get("fail_reason", "no reason given")
                raise SearchError(f"search: trial {last.number} failed: {reason}")
            stopped = "time"
            break
        done, new = done + 1, new + 1
        best = _best(study)
        left = max(0.0, deadline - time.monotonic())
        value = "pruned" if last.state == TrialState.PRUNED else f"{last.value:.4f}"
        best_text = f"{best.value:.4f} (trial {best.number})" if best else "-"
        say(f"search: trial {done}/{tune.trials}: {value}; best {best_text}; {left:.0f} s left")
    if stopped == "time":
        say(f"search: stopped by its time budget ({tune.timeout_seconds:g} s) after {done} trials")
    return _result(study, config, space, new, stopped, time.monotonic() - started)


def _best(study: optuna.Study) -> FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return study.best_trial if complete else None


def _importance(study: optuna.Study, seed: int) -> dict[str, float]:
    """fANOVA's share of the CV metric's variance per parameter (seeded), over complete trials."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 3:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    try:
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):  # e.g. every trial drew the same values
        return {}
    return {name: round(float(share), 4) for name, share in found.items()}


def _record(trial: FrozenTrial) -> TrialRecord:
    seconds = None
    if trial.datetime_start and trial.datetime_complete:
        seconds = round((trial.datetime_complete - trial.datetime_start).total_seconds(), 3)
    value = trial.value if trial.state == TrialState.COMPLETE else None
    rounds: Any = trial.user_attrs.get("rounds")
    return TrialRecord(
        number=trial.number,
        state=trial.state.name.lower(),
        value=None if value is None or math.isnan(value) else float(value),
        params=dict(trial.params),
        seconds=seconds,
        rounds=int(rounds) if rounds is not None else None,
    )


def _result(
    study: optuna.Study,
    config: TrainConfig,
    space: tuple[Param, ...],
    new: int,
    stopped: str,
    seconds: float,
) -> SearchResult:
    best = _best(study)
    return SearchResult(
        study=study.study_name,
        metric=config.tune.metric,
        direction=config.tune.direction,
        budget_trials=config.tune.trials,
        budget_seconds=config.tune.timeout_seconds,
        space={p.name: p.to_dict() for p in space},
        trials=[_record(t) for t in study.get_trials(deepcopy=False)],
        best_trial=best.number if best else None,
        best_value=float(best.value) if best and best.value is not None else None,
        best_params=dict(best.params) if best else {},
        importance=_importance(study, config.seed),
        new_trials=new,
        stopped=stopped,
        seconds=round(seconds, 3),
    )
