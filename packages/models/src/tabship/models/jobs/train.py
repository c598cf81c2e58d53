"""`train`: the training job, or its cached result when nothing changed.

This module imports nothing heavy: a cached `tabship-models train` answers within a second, so
LightGBM and MLflow (jobs/train_run.py) load only when a run is needed.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

from tabship.data import Project, project_at
from tabship.models.config import load_run_config, with_overrides
from tabship.models.progress import Progress
from tabship.models.result import TrainResult
from tabship.models.training import cache


def train(
    project: Project | Path,
    force: bool = False,
    progress: Progress | None = None,
    dataset: str | None = None,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    source: Path | None = None,
    review: bool = False,
) -> TrainResult:
    """The whole job for DATASET (default: the project's default) of PROJECT (or a project
    folder), or its cached run when nothing changed. ENGINE, SCHEDULER and SOURCE override
    train.yaml's engine and the dataset's sources (`--engine`, `--scheduler`, `--source`).

    REVIEW trains a merge request's candidate: registered and gated, but no alias moves (the
    champion, previous and candidate stay where they are), and cached apart from promoting runs."""
    started = time.perf_counter()
    resolved = project if isinstance(project, Project) else project_at(project)
    run = with_overrides(load_run_config(resolved, dataset), engine, scheduler, source)
    key = cache.cache_key(resolved, run, review=review)
    hit = None if force else cache.read_record(resolved, key)
    if hit is not None:
        hit.seconds = round(time.perf_counter() - started, 3)
        return hit
    from tabship.models.jobs.train_run import train_run

    # The heavy modules are loaded now and live for the whole run: keep the collector from
    # walking them again and again while the run allocates.
    gc.freeze()
    try:
        return train_run(resolved, run, key, progress, promote=not review)
    finally:
        gc.unfreeze()  # a caller in the same process (a test) gets its collector back
