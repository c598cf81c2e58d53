"""`tabship-serving build`, first half: the MLflow champion into the BentoML model store.

The entry holds the run's own files (LightGBM text model, fitted pipeline, request schema), checked
against the sha256s of the run's contract, and the facts (versions, threshold, commit, hashes):
everything the service reads, and nothing pickled. Nothing here reads today's data or training
configs beyond the model's name: the contract is the run's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabship.serving.runtime.artifact import (
    ModelFacts,
    verify_artifact,
    write_facts,
)

if TYPE_CHECKING:
    from tabship.data import Project


REMEDY = "train one first (invoke train, or nox -s train)"


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


def _registry_label(identity: str) -> str:
    # BentoML label values are short strings: a digest of the tracking URI and model name.
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _reusable(known: list[Any], labels: dict[str, str]) -> StoredModel | None:
    """The store entry made from exactly this run of this registry, when its files are intact."""
    import bentoml

    from tabship.data import IntegrityError

    for existing in known:
        found = existing.info.labels
        if any(found.get(key) != value for key, value in labels.items()):
            continue
        try:
            facts = verify_artifact(Path(existing.path))
        except (IntegrityError, KeyError, OSError, TypeError, ValueError):
            # Damaged or from an older layout: replace it rather than serve it.
            bentoml.models.delete(existing.tag)
            continue
        return StoredModel(str(existing.tag), facts, created=False)
    return None


def store_champion(project: Project, dataset: str | None = None) -> StoredModel:
    """Copy DATASET's (default: the project's default) registry champion (model file, pipeline,
    request schema) into the model store.

    Idempotent: an entry made from the same run of the same registry is reused, so a restarted
    registry (whose version numbers begin again at 1) never gets an older model served.
    """
    from tabship.models import CHAMPION, load_train_config

    stored = store_alias(project, dataset, CHAMPION)
    if stored is None:
        model = load_train_config(project.dataset(dataset)).model_name
        raise NoChampionError(f"{model} has no champion: {REMEDY}")
    return stored


def store_alias(project: Project, dataset: str | None, alias: str) -> StoredModel | None:
    """`store_champion` for any registry ALIAS (shadow mode stores the challenger this way);
    None when no version has that alias."""
    import bentoml

    from tabship.models import Registry, fetch_served_files, load_train_config

    config = load_train_config(project.dataset(dataset))  # for the model's name, nothing else
    if project.uses_embedded_tracking and not (project.mlruns / "mlflow.db").is_file():
        # Opening the registry would create an empty one: there is nothing to serve yet.
        raise NoChampionError(f"{project.mlruns}: no registry yet: {REMEDY}")
    registry = Registry.for_config(project, config)
    info = registry.alias(alias)
    if info is None:
        return None
    labels = {
        "run_id": info.run_id,
        "registry": _registry_label(registry.identity()),
        "model_version": info.version,
    }
    try:
        known = bentoml.models.list(config.model_name)
    except bentoml.exceptions.NotFound:
        known = []
    existing = _reusable(known, labels)
    if existing is not None:
        return existing
    with tempfile.TemporaryDirectory() as scratch:
        fetched = Path(scratch)
        contract = fetch_served_files(registry, info, fetched)
        facts = ModelFacts(
            model_name=info.name,
            model_version=info.version,
            run_id=info.run_id,
            registry=registry.identity(),
            dataset=contract.dataset,
            dataset_version=contract.dataset_version,
            git_commit=contract.git_commit,
            threshold=contract.threshold,
            positive_label=contract.positive_label,
            files=contract.files,
        )
        labels.update(dataset_version=facts.dataset_version, git_commit=facts.git_commit)
        with bentoml.models.create(config.model_name, labels=labels) as model:
            folder = Path(model.path)
            for name in contract.files:  # the model, the pipeline and the request schema
                shutil.copyfile(fetched / name, folder / name)
            write_facts(folder, facts)
            verify_artifact(folder)
    return StoredModel(str(model.tag), facts, created=True)


def newest_stored() -> str:
    """The tag of the newest tabship model in the BentoML store (one made by `store_champion`)."""
    import bentoml

    ours = [
        m
        for m in bentoml.models.list()
        if "run_id" in m.info.labels and "registry" in m.info.labels
    ]
    if not ours:
        home = os.environ.get("BENTOML_HOME", "~/bentoml")
        raise NoChampionError(
            f"no tabship model in the BentoML store ({home}): train one and store it "
            "(invoke train, then invoke bento)"
        )
    return str(max(ours, key=lambda m: m.info.creation_time).tag)


def model_to_serve(
    project: Project | None, explicit: str | None = None, dataset: str | None = None
) -> str:
    """The tag to serve: EXPLICIT, else $TABSHIP_MODEL_TAG, else the champion of the project's
    DATASET (stored first when it is not yet), else, with no project, the newest tabship model in
    the store."""
    from tabship.serving.settings import MODEL_TAG_ENV

    chosen = explicit or os.environ.get(MODEL_TAG_ENV)
    if chosen:
        return chosen
    if project is not None:
        return store_champion(project, dataset).tag
    return newest_stored()


def stored_folder(tag: str) -> Path:
    """The folder of model TAG in the BentoML store; BuildError when it is not there."""
    import bentoml

    try:
        return Path(bentoml.models.get(tag).path)
    except bentoml.exceptions.NotFound:
        home = os.environ.get("BENTOML_HOME", "~/bentoml")
        raise BuildError(f"model {tag} is not in the BentoML store ({home})") from None
