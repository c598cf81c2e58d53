"""`tune`: the hyperparameter search alone, and the hook that runs it inside `train`.

Both open the same study (tuning/storage.py), so a `tune` followed by `train` searches once:
the second finds the study at its budget and trains with its best parameters.
"""

from __future__ import annotations

from pathlib import Path

from tabship.data import ConfigError, Project, project_at
from tabship.features import FittedPipeline, fit
from tabship.models.config import RunConfig, TrainConfig, load_run_config
from tabship.models.progress import Progress
from tabship.models.registry.registry import display_uri
from tabship.models.training.data import load_training_data
from tabship.models.training.fit import Matrix, Tuner, training_columns
from tabship.models.training.metrics import Labels
from tabship.models.tuning.result import SearchResult
from tabship.models.tuning.search import open_study, search
from tabship.models.tuning.storage import storage_url, study_name


def study_tuner(
    project: Project, run: RunConfig, version: str, say: Progress, found: list[SearchResult]
) -> Tuner:
    """The search as `fit_model`'s hook, on dataset VERSION; its result is appended to FOUND."""

    def tune(x: Matrix, y: Labels, pipeline: FittedPipeline, config: TrainConfig) -> TrainConfig:
        url = storage_url(project)
        name = study_name(run, version, len(y))
        budget = config.tune
        say(
            f"search: up to {budget.trials} trials or {budget.timeout_seconds:g} s, "
            f"study {name} in {display_uri(url)}"
        )
        result = search(x, y, pipeline, config, open_study(url, name, budget.direction), say)
        found.append(result)
        say(result.summary())
        return result.tuned(config)

    return tune


def tune(
    project: Project | Path, dataset: str | None = None, progress: Progress | None = None
) -> SearchResult:
    """Run DATASET's search (train.yaml `tune:`) on its training split, continuing its study."""
    say = progress or (lambda _: None)
    resolved = project if isinstance(project, Project) else project_at(project)
    run = load_run_config(resolved, dataset)
    if not run.train.tune.enabled:
        raise ConfigError(
            f"{run.files.train_config}: tune.enabled is false (or `tune:` is missing): "
            "there is no search to run"
        )
    data = load_training_data(resolved, run.data, say, *training_columns(run))
    say(f"features: fit on {len(data.train)} training rows (dataset {data.manifest.version})")
    pipeline = fit(data.train, run.features)
    matrix = pipeline.transform(data.train).matrix
    found: list[SearchResult] = []
    study_tuner(resolved, run, data.manifest.version, say, found)(
        matrix, data.y_train, pipeline, run.train
    )
    return found[0]
