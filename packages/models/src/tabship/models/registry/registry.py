"""The MLflow registry: runs, registered versions and the aliases candidate, champion and previous.

By default tracking and the registry live in a sqlite file under the project (no server);
MLFLOW_TRACKING_URI points them at a shared server instead. Aliases move only after everything else
has been written, so a run killed at any point leaves `champion` and `previous` as they were.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import lightgbm as lgb
import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tabship.data import ObjectStore, Project
from tabship.features import FittedPipeline, load_pipeline
from tabship.models.config import TrainConfig, load_train_config
from tabship.models.registry.lease import Lease, held

# MLflow's INFO and WARNING lines (database migrations, pip detection) drown the job's own progress.
# Its ERROR lines carry whole tracebacks (a full disk: 90 lines of SQLAlchemy): the command says
# what failed in one line of its own.
logging.getLogger("mlflow").setLevel(logging.CRITICAL)
# Against a server, MLflow writes "View run ... at: URL" to stdout, where `--json` promises one JSON
# document; the run's address is in the result instead.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
# MLflow retries a failed request 7 times with doubling waits, about 4 minutes, before it says the
# server is gone: a command says so within about 10 s instead (both can be set as usual).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
# With tqdm installed (Optuna brings it), every artifact download draws a progress bar of one
# line per file: a few small files, each a fraction of a second, say nothing worth the noise.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

CANDIDATE, CHAMPION, PREVIOUS = "candidate", "champion", "previous"
# A retrained model that was not promoted (or not yet): shadow mode scores it beside the champion.
CHALLENGER = "challenger"
PIPELINE_ARTIFACT = "features/pipeline.json"
CONFIGS_ARTIFACT = "configs"  # the config files a run read, for a review's diff
REVIEW_TAG = "tabship.review"  # on a merge request's run: registered, no alias moved
BASELINE_GAINS = "gate/baseline_gains.json"  # the candidate's paired gains over the baseline
MODEL_ARTIFACT = "model"


class RegistryError(RuntimeError):
    """The registry cannot do what was asked; the message says what and why."""


@dataclass(frozen=True)
class VersionInfo:
    """A registered model version and the run that made it."""

    name: str
    version: str
    run_id: str


def display_uri(uri: str) -> str:
    """URI without the credentials it may carry (user:password@host), fit to print or store."""
    parts = urlsplit(uri)
    if "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
    return uri


class Registry:
    """One registered model in one MLflow tracking store."""

    @classmethod
    def for_config(cls, project: Project, config: TrainConfig) -> Registry:
        """The registry of the model a dataset's train.yaml names (already parsed: a run hands
        its RunConfig's)."""
        return cls(project, config.model_name, config.experiment)

    @classmethod
    def for_dataset(cls, project: Project, dataset: str | None = None) -> Registry:
        """The registry of DATASET's model (default: the project's default dataset)."""
        return cls.for_config(project, load_train_config(project.dataset(dataset)))

    def __init__(self, project: Project, model_name: str, experiment: str) -> None:
        self.uri = project.tracking_uri
        project.mlruns.mkdir(parents=True, exist_ok=True)
        self.lock_file = project.mlruns / "aliases.lock"
        # Against a shared server, alias moves are serialised by a lease in the team's object
        # store (registry/lease.py); a file lock serialises them on one machine only.
        self.lease_store = ObjectStore(project.remote_store) if project.remote_store else None
        self._lease: Lease | None = None
        # MLflow also writes the URI into $MLFLOW_TRACKING_URI, where every project resolved later
        # in this process would find it: keep the environment as the user set it.
        saved = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.uri)
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved
        self.name = model_name
        try:
            self.client = MlflowClient(self.uri)
            found = self.client.get_experiment_by_name(experiment)
        except Exception as error:  # MLflow and SQLAlchemy raise many kinds, many lines long
            first = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            if re.search(r"error code 40[13]\b", first):  # MLflow's "... error code 401 != 200"
                raise RegistryError(
                    f"{display_uri(self.uri)}: the MLflow server refused the credentials "
                    "(MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)"
                ) from None
            raise RegistryError(
                f"{display_uri(self.uri)}: the registry cannot be read ({first[:200]})"
            ) from None
        if found is None:
            # Artifacts beside the sqlite file, not in the current directory.
            location = None
            if self.uri.startswith("sqlite:"):
                location = (project.mlruns / "artifacts").as_uri()
            self.experiment_id = self.client.create_experiment(
                experiment, artifact_location=location
            )
        else:
            self.experiment_id = found.experiment_id

    def alias(self, alias: str) -> VersionInfo | None:
        """The version an alias points at, or None."""
        try:
            version = self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None
        return VersionInfo(self.name, str(version.version), str(version.run_id))

    def version(self, version: str) -> VersionInfo:
        """A registered version by number."""
        try:
            found = self.client.get_model_version(self.name, version)
        except MlflowException:
            raise RegistryError(f"{self.name} has no version {version}") from None
        return VersionInfo(self.name, str(found.version), str(found.run_id))

    def load(self, info: VersionInfo) -> tuple[lgb.Booster, FittedPipeline]:
        """The LightGBM model and the fitted feature pipeline of a version."""
        booster = mlflow.lightgbm.load_model(f"models:/{info.name}/{info.version}")
        with tempfile.TemporaryDirectory() as folder:
            pipeline = load_pipeline(self.pipeline_file(info, Path(folder)))
        return booster, pipeline

    def pipeline_file(self, info: VersionInfo, folder: Path) -> Path:
        """Download a version's fitted feature pipeline (JSON) into FOLDER."""
        local = mlflow.artifacts.download_artifacts(
            run_id=info.run_id, artifact_path=PIPELINE_ARTIFACT, dst_path=str(folder)
        )
        return Path(local)

    def model_file(self, info: VersionInfo, folder: Path) -> Path:
        """Download a version's LightGBM text model file into FOLDER."""
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{info.name}/{info.version}", dst_path=str(folder)
        )
        return Path(local) / "model.lgb"

    def identity(self) -> str:
        """Which registry and model this is: the tracking URI and the model name. A restarted
        registry reuses version numbers, so a served model is keyed by this and its run id.
        Credentials in the URI are left out: the identity is written into the served model."""
        return f"{display_uri(self.uri)}#{self.name}"

    def register(self, booster: lgb.Booster, run_id: str, candidate: bool = True) -> VersionInfo:
        """Log the model (LightGBM's own text format) to RUN_ID and register it, as `candidate`
        unless CANDIDATE is false (a merge request's version must not move a team's alias)."""
        logged = mlflow.lightgbm.log_model(
            booster,
            name=MODEL_ARTIFACT,
            pip_requirements=[f"lightgbm=={lgb.__version__}"],
        )
        version = mlflow.register_model(logged.model_uri, self.name, tags={"run_id": run_id})
        info = VersionInfo(self.name, str(version.version), run_id)
        if candidate:
            self.client.set_registered_model_alias(self.name, CANDIDATE, info.version)
        return info

    @contextmanager
    def alias_lock(self) -> Iterator[None]:
        """Serialise alias moves: MLflow has no compare-and-set on an alias, so a read-then-write
        must not interleave with another's. With an object store (TABSHIP_DATA_STORE=s3://...),
        across machines through its lease; otherwise on this machine, through a file lock."""
        if self.lease_store is not None:
            with held(self.lease_store, self.name) as lease:
                self._lease = lease
                try:
                    yield
                finally:
                    self._lease = None
            return
        if not self.uri.startswith("sqlite:"):
            _warn_once(
                f"{display_uri(self.uri)}: alias moves are serialised on this machine only; set "
                "TABSHIP_DATA_STORE=s3://... to serialise them across machines"
            )
        with self.lock_file.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _set(self, alias: str, version: str) -> None:
        """Move ALIAS under the lock (and, with a lease, only while it is still held)."""
        if self._lease is not None:
            self._lease.check()
        self.client.set_registered_model_alias(self.name, alias, version)

    def _promote(self, info: VersionInfo) -> VersionInfo | None:
        old = self.alias(CHAMPION)
        if old is not None and old.version == info.version:
            return old
        if old is not None:
            # previous first: if we stop between the two writes, champion is still the old one.
            self._set(PREVIOUS, old.version)
        self._set(CHAMPION, info.version)
        challenger = self.alias(CHALLENGER)
        if challenger is not None and challenger.version == info.version:
            self.client.delete_registered_model_alias(self.name, CHALLENGER)
        return old

    def promote(self, info: VersionInfo) -> VersionInfo | None:
        """Make INFO the champion; the old champion becomes `previous`. Returns the old champion."""
        with self.alias_lock():
            return self._promote(info)

    def promote_if_champion(self, info: VersionInfo, expected: VersionInfo | None) -> bool:
        """Compare-and-set: promote INFO only while EXPECTED (None: no champion) is still the
        champion. False when another run moved it first: that run's comparison no longer holds
        for this one, so of two retrains started at once at most one promotes."""
        with self.alias_lock():
            current = self.alias(CHAMPION)
            if (current.version if current else None) != (expected.version if expected else None):
                return False
            self._promote(info)
            return True

    def set_challenger(self, info: VersionInfo) -> None:
        """Point `challenger` at INFO: registered, not promoted (shadow mode can score it)."""
        with self.alias_lock():
            self._set(CHALLENGER, info.version)

    def rollback(self) -> tuple[VersionInfo, VersionInfo]:
        """Restore `previous` as champion; the replaced champion becomes `previous`."""
        with self.alias_lock():
            previous, champion = self.alias(PREVIOUS), self.alias(CHAMPION)
            if previous is None or champion is None:
                raise RegistryError(f"{self.name} has no 'previous' version to roll back to")
            self._set(CHAMPION, previous.version)
            self._set(PREVIOUS, champion.version)
            return previous, champion

    def versions(self) -> list[dict[str, Any]]:
        """Every version with its aliases, newest first."""
        aliases: dict[str, list[str]] = {}
        for alias in (CANDIDATE, CHALLENGER, CHAMPION, PREVIOUS):
            found = self.alias(alias)
            if found is not None:
                aliases.setdefault(found.version, []).append(alias)
        found_versions = self.client.search_model_versions(f"name='{self.name}'")
        rows = [
            {
                "version": str(v.version),
                "run_id": str(v.run_id),
                "aliases": aliases.get(str(v.version), []),
            }
            for v in found_versions
        ]
        return sorted(rows, key=lambda r: -int(r["version"]))

    def run_metrics(self, run_id: str) -> Mapping[str, float]:
        """The metrics logged by a run."""
        return dict(self.client.get_run(run_id).data.metrics)

    def run_record(self, run_id: str) -> tuple[Mapping[str, float], Mapping[str, str]]:
        """The metrics and the tags logged by a run, in one call to the store."""
        data = self.client.get_run(run_id).data
        return dict(data.metrics), dict(data.tags)


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"warning: {message}", file=sys.stderr)
