"""The search (train.yaml `tune:`): reproducible, blind to the holdout, resumable, on time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tabship.data import ConfigError, Project, project_at
from tabship.models import load_run_config, load_training_data
from tabship.models.config import train_config_from_dict
from tabship.models.jobs.tune import study_tuner, tune
from tabship.models.training.fit import fit_model, training_columns
from tabship.models.tuning.result import SearchResult

BIN = Path(sys.executable).parent
SMALL = {"folds": 3, "num_boost_round": 60, "early_stopping_rounds": 10}
TUNE = {"enabled": True, "trials": 8, "timeout_seconds": 300}


@pytest.fixture
def make_tuned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_project: Callable[..., Path]
) -> Callable[..., Path]:
    """A project of 1,000 Adult training rows whose train.yaml searches (TUNE, overridable)."""
    for name in ("MLFLOW_TRACKING_URI", "TABSHIP_DATA_STORE", "TABSHIP_STUDY_STORAGE"):
        monkeypatch.delenv(name, raising=False)

    def build(name: str, **tune: Any) -> Path:
        overrides = {**SMALL, "tune": {**TUNE, **tune}}
        return make_project(tmp_path / name, 1000, 500, overrides)

    return build


def _fit(project: Project) -> tuple[SearchResult, str]:
    """The search and the model it leads to, in process, as `train` wires them."""
    run = load_run_config(project)
    data = load_training_data(project, run.data, None, *training_columns(run))
    found: list[SearchResult] = []
    hook = study_tuner(project, run, data.manifest.version, lambda _: None, found)
    trained = fit_model(data, run.features, run.train, lambda _: None, hook)
    return found[0], trained.booster.model_to_string()


def _trials(result: SearchResult) -> list[tuple[str, float | None, dict[str, Any]]]:
    return [(t.state, t.value, t.params) for t in result.trials]


def test_the_same_seed_gives_the_same_study_and_a_byte_identical_model(
    make_tuned: Callable[..., Path],
) -> None:
    first, model_a = _fit(project_at(make_tuned("a")))
    second, model_b = _fit(project_at(make_tuned("b")))  # its own study database
    assert first.new_trials == second.new_trials == 8
    assert _trials(first) == _trials(second)
    assert first.best_params == second.best_params and first.best_value == second.best_value
    assert model_a == model_b
    # The best parameters are the ones trained with, and differ from train.yaml's.
    assert first.best_params and f"num_leaves={first.best_params['num_leaves']}" in model_a
    other, _ = _fit(project_at(make_tuned("c", trials=8)))
    assert _trials(other) == _trials(first)  # (the budget is not part of the result)


def test_the_holdout_never_reaches_the_search(make_tuned: Callable[..., Path]) -> None:
    clean = make_tuned("clean")
    poisoned = make_tuned("poisoned")
    test_file = poisoned / "data" / "raw" / "adult.test"
    text = test_file.read_text(encoding="utf-8")
    flipped = text.replace(">50K.", "@").replace("<=50K.", ">50K.").replace("@", "<=50K.")
    assert flipped != text
    test_file.write_text(flipped, encoding="utf-8")  # every holdout label wrong
    before, after = tune(clean), tune(poisoned)
    assert before.study != after.study  # another dataset version, so its own study...
    assert _trials(before) == _trials(after)  # ...and not one trial changed
    assert before.best_params == after.best_params


def _cli(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    return subprocess.Popen(
        [str(BIN / "tabship-models"), "--project", str(root), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def test_a_killed_search_resumes_where_it_stopped(make_tuned: Callable[..., Path]) -> None:
    root = make_tuned("killed", trials=12)
    search = _cli(root, "tune")
    assert search.stderr is not None
    for line in search.stderr:
        if "search: trial 5/12" in line:
            os.killpg(search.pid, signal.SIGKILL)  # mid-way through trial 6, or just before
            break
    search.wait(timeout=60)
    assert search.returncode == -signal.SIGKILL
    resumed = _cli(root, "tune", "--json")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    result = json.loads(out)
    assert "5 of 12 trials already done" in err
    assert result["new_trials"] == 7 and result["stopped"] == "trials"
    whole = tune(project_at(make_tuned("whole", trials=12)))  # never interrupted
    states = [t["state"] for t in result["trials"]]
    finished = [(t["state"], t["value"], t["params"]) for t in result["trials"]
                if t["state"] in ("complete", "pruned")]  # fmt: skip
    assert finished == _trials(whole)
    assert result["best_params"] == whole.best_params
    assert len(states) - len(finished) <= 1  # the trial the kill cut: failed, not counted


def test_a_search_within_its_time_budget_stops_on_time(make_tuned: Callable[..., Path]) -> None:
    root = make_tuned("timed", trials=10_000, timeout_seconds=3, pruning=False)
    train_yaml = root / "configs" / "datasets" / "adult" / "train.yaml"
    config = yaml.safe_load(train_yaml.read_text(encoding="utf-8"))
    config |= {"num_boost_round": 100_000, "early_stopping_rounds": 100_000}  # endless trials
    train_yaml.write_text(yaml.safe_dump(config), encoding="utf-8")
    started = time.monotonic()
    result = tune(project_at(root))
    elapsed = time.monotonic() - started
    print(
        f"\nsearch budget 3 s: the search took {result.seconds:.2f} s, the command {elapsed:.2f} s"
    )
    assert result.stopped == "time"
    assert result.seconds < 3 + 1.0  # a round of 1,000 rows takes milliseconds
    assert result.count("fail") == 1  # the trial the budget cut is not counted as finished


def test_the_tune_settings_are_checked_in_one_line() -> None:
    base = {"seed": 1, "folds": 3, "num_threads": 1, "num_boost_round": 10,
            "early_stopping_rounds": 5, "threshold": 0.5, "params": {}}  # fmt: skip
    cases = [
        ({"trials": 0}, "tune.trials must be"),
        ({"metric": "f1"}, "tune.metric must be one of"),
        ({"space": {"seed": {"low": 1, "high": 2}}}, "seed is fixed by tabship"),
        ({"space": {"num_leaves": {"low": 8, "high": 4}}}, "low must be below high"),
        ({"space": {"lambda_l2": {"low": 0, "high": 1, "log": True}}}, "log scale needs low"),
        ({"space": {"num_leaves": [4, 8]}}, "must be a mapping like"),
        ({"budget": 3}, "unknown field"),
    ]
    for tune_block, message in cases:
        with pytest.raises(ConfigError, match=message):
            train_config_from_dict({**base, "tune": tune_block}, "train.yaml")
    with pytest.raises(ConfigError, match="dask engine does not search"):
        train_config_from_dict({**base, "engine": "dask", "tune": {}}, "train.yaml")
    config = train_config_from_dict({**base, "tune": {"space": {"num_leaves": {"low": 4,
                                     "high": 64, "log": True}}}}, "train.yaml")  # fmt: skip
    assert config.tune.enabled and config.tune.space[0].integer
    assert not train_config_from_dict(base, "train.yaml").tune.enabled  # no `tune:`, no search
    proposed = {p.name: p for p in config.tune.__class__().space_for(800)}
    assert proposed["num_leaves"].high == 40 and proposed["min_data_in_leaf"].high == 80
