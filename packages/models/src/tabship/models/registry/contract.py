"""The serving contract: what a run says a served model is, logged with the run.

Training logs, under the run's `contract/` artifacts, the request fields of the dataset version it
trained on and `contract.json`: the threshold, the target and its positive label, the provenance,
and the sha256 of each file a server needs (model, pipeline, request fields). Serving copies those
files and checks them against the hashes; it never reads today's configs, which may have changed
since the run.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow

from tabship.data import FieldSpec, IntegrityError, fields_to_json, file_sha256, verify_files
from tabship.models.registry.files import FIELDS_FILE, MODEL_FILE, PIPELINE_FILE

if TYPE_CHECKING:
    from tabship.models.registry.registry import Registry, VersionInfo

CONTRACT_FORMAT = 1
CONTRACT_ARTIFACT = "contract"
CONTRACT_FILE = "contract.json"


@dataclass(frozen=True)
class Contract:
    """A run's serving contract. `files` maps each served file's name to its sha256."""

    run_id: str
    model_name: str
    dataset: str
    dataset_version: str
    schema_hash: str
    target: str
    positive_label: str
    threshold: float
    git_commit: str
    files: dict[str, str] = field(default_factory=dict)
    format_version: int = CONTRACT_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path) -> Contract:
        raw = json.loads(text)
        if raw.get("format_version") != CONTRACT_FORMAT:
            found = raw.get("format_version")
            raise IntegrityError(f"contract format {found!r} is not {CONTRACT_FORMAT}", path=where)
        return cls(**raw)


def log_contract(
    registry: Registry,
    version: VersionInfo,
    fields: list[FieldSpec],
    pipeline_file: Path,
    facts: Contract,
) -> Contract:
    """Log the request fields and the contract to the active run, after the model is registered
    (its file is hashed as the registry stores it). Returns the contract with its hashes."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model_file = registry.model_file(version, folder / "model")
        fields_file = folder / FIELDS_FILE
        fields_file.write_text(fields_to_json(fields), encoding="utf-8")
        files = {
            MODEL_FILE: file_sha256(model_file),
            PIPELINE_FILE: file_sha256(pipeline_file),
            FIELDS_FILE: file_sha256(fields_file),
        }
        contract = Contract(**{**asdict(facts), "files": files})
        (folder / CONTRACT_FILE).write_text(contract.to_json(), encoding="utf-8")
        mlflow.log_artifact(str(fields_file), CONTRACT_ARTIFACT)
        mlflow.log_artifact(str(folder / CONTRACT_FILE), CONTRACT_ARTIFACT)
    return contract


def fetch_served_files(registry: Registry, version: VersionInfo, folder: Path) -> Contract:
    """Download VERSION's model, pipeline and request fields into FOLDER, flat, and check each
    against the run's contract. IntegrityError names a file that is missing or differs."""
    from mlflow.exceptions import MlflowException

    folder.mkdir(parents=True, exist_ok=True)
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=CONTRACT_ARTIFACT, dst_path=str(folder)
            )
        )
    except (MlflowException, OSError):
        raise IntegrityError(
            f"run {version.run_id} (version {version.version}) logged no serving contract: it "
            "predates tabship-models 0.3; train again (invoke train --force)",
        ) from None
    contract = Contract.from_json((local / CONTRACT_FILE).read_text(encoding="utf-8"), local)
    (local / FIELDS_FILE).replace(folder / FIELDS_FILE)
    fetches = ((MODEL_FILE, registry.model_file, "model"),
               (PIPELINE_FILE, registry.pipeline_file, "features"))  # fmt: skip
    for name, fetch, scratch in fetches:
        try:
            fetch(version, folder / scratch).replace(folder / name)
        except (MlflowException, OSError):
            # Not the download's temporary path: the artifact that is gone, and what to do.
            raise IntegrityError(
                f"{registry.name} version {version.version} (run {version.run_id}): {name} is "
                "missing from the registry's artifacts; roll back (invoke rollback) or train "
                "again (invoke train --force)"
            ) from None
    verify_files(folder, contract.files)
    return contract
