"""`tabship-serving build`, first half: the MLflow champion into the BentoML model store.

The entry holds the LightGBM text model, the fitted pipeline, the request schema and the facts
(versions, threshold, commit): everything the service reads, and nothing pickled.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tabship.serving.artifact import (
    MODEL_FILE,
    PIPELINE_FILE,
    SCHEMA_FILE,
    ModelFacts,
    read_facts,
    write_facts,
)
from tabship.serving.contract import request_fields
from tabship.serving.schema import fields_to_json

if TYPE_CHECKING:
    from tabship.data import Project


class BuildError(RuntimeError):
    """The build cannot go on; the message says why and what to do."""


class NoChampionError(BuildError):
    """The registry has no champion yet (`tabship-serving build` exits 4, so CI can tell)."""


@dataclass(frozen=True)
class StoredModel:
    """A served model in the BentoML model store."""

    tag: str
    facts: ModelFacts
    created: bool


def store_champion(project: Project) -> StoredModel:
    """Copy the registry's champion (model file, pipeline, request schema) into the model store.

    Idempotent: when the store already holds this model version, that entry is returned.
    """
    import bentoml

    from tabship.data import load_config, load_schema
    from tabship.models import CHAMPION, Registry, load_train_config

    config = load_train_config(project.train_config)
    remedy = "train one first (invoke train, or nox -s train)"
    if project.uses_embedded_tracking and not (project.mlruns / "mlflow.db").is_file():
        # Opening the registry would create an empty one: there is nothing to serve yet.
        raise NoChampionError(f"{project.mlruns}: no registry yet: {remedy}")
    registry = Registry(project, config.model_name, config.experiment)
    info = registry.alias(CHAMPION)
    if info is None:
        raise NoChampionError(f"{config.model_name} has no champion: {remedy}")
    try:
        known = bentoml.models.list(config.model_name)
    except bentoml.exceptions.NotFound:
        known = []
    for existing in known:
        if existing.info.labels.get("model_version") == info.version:
            facts = read_facts(Path(existing.path))
            return StoredModel(str(existing.tag), facts, created=False)
    tags = registry.client.get_run(info.run_id).data.tags
    data_config = load_config(project.data_config, config.dataset)
    fields = request_fields(data_config, load_schema(data_config))
    facts = ModelFacts(
        model_name=info.name,
        model_version=info.version,
        run_id=info.run_id,
        dataset=config.dataset,
        dataset_version=tags.get("tabship.dataset_version", "unknown"),
        git_commit=tags.get("tabship.git_commit", "unknown"),
        threshold=config.threshold,
    )
    labels = {
        "model_version": facts.model_version,
        "dataset_version": facts.dataset_version,
        "git_commit": facts.git_commit,
    }
    with tempfile.TemporaryDirectory() as scratch:
        model_file = registry.model_file(info, Path(scratch))
        _, pipeline = registry.load(info)
        with bentoml.models.create(config.model_name, labels=labels) as model:
            folder = Path(model.path)
            shutil.copyfile(model_file, folder / MODEL_FILE)
            pipeline.save(folder / PIPELINE_FILE)
            (folder / SCHEMA_FILE).write_text(fields_to_json(fields), encoding="utf-8")
            write_facts(folder, facts)
    return StoredModel(str(model.tag), facts, created=True)
