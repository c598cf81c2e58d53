"""The served model's folder: the LightGBM text model, the fitted feature pipeline, the request
schema and the facts a response or a label needs (version, dataset, threshold, commit).

Every file but the facts is the run's own, copied from the registry, and the facts record each
one's sha256 from the run's contract: loading checks them and refuses a file that differs. The
same folder is a BentoML model in the model store; `tabship-serving predict --local` and the
service both read it, so both score with exactly the same files. No pickle: every file is text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tabship.data import FieldSpec, fields_from_json, verify_files
from tabship.models import FIELDS_FILE as SCHEMA_FILE
from tabship.models import MODEL_FILE, PIPELINE_FILE

if TYPE_CHECKING:
    import lightgbm as lgb

    from tabship.features import FittedPipeline

META_FILE = "metadata.json"


@dataclass(frozen=True)
class ModelFacts:
    """Where a served model came from."""

    model_name: str
    model_version: str
    run_id: str
    registry: str  # the tracking URI and model name the version number belongs to
    dataset: str
    dataset_version: str
    git_commit: str
    threshold: float
    positive_label: str
    files: dict[str, str]  # file name -> sha256, from the run's contract


@dataclass(frozen=True)
class Artifact:
    """Everything the scorer needs, loaded from one folder."""

    booster: lgb.Booster
    pipeline: FittedPipeline
    fields: list[FieldSpec]
    facts: ModelFacts


def write_facts(folder: Path, facts: ModelFacts) -> None:
    """Write metadata.json."""
    text = json.dumps(asdict(facts), indent=2, sort_keys=True) + "\n"
    (folder / META_FILE).write_text(text, encoding="utf-8")


def read_facts(folder: Path) -> ModelFacts:
    """Read metadata.json."""
    return ModelFacts(**json.loads((folder / META_FILE).read_text(encoding="utf-8")))


def read_fields(folder: Path) -> list[FieldSpec]:
    """Read the request schema saved beside the model, once its sha256 is checked."""
    verify_files(folder, {SCHEMA_FILE: read_facts(folder).files[SCHEMA_FILE]})
    return fields_from_json((folder / SCHEMA_FILE).read_text(encoding="utf-8"))


def verify_artifact(folder: Path) -> ModelFacts:
    """The facts, once every file they list matches its sha256 (IntegrityError names the file)."""
    facts = read_facts(folder)
    verify_files(folder, facts.files)
    return facts


def load_artifact(folder: Path) -> Artifact:
    """Load a served model's folder."""
    # Imported here: LightGBM and pandas take seconds to import, and only the worker needs them,
    # not BentoML's supervisor process, which also imports the service module.
    import lightgbm as lgb

    from tabship.features import load_pipeline

    facts = verify_artifact(folder)
    booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    return Artifact(
        booster=booster,
        pipeline=load_pipeline(folder / PIPELINE_FILE),
        fields=fields_from_json((folder / SCHEMA_FILE).read_text(encoding="utf-8")),
        facts=facts,
    )
