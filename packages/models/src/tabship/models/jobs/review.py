"""`review`: this checkout's candidate against a registered version, both scored on the same rows.

The candidate is trained as `train` trains it (cached), but moves no alias (train(review=True)).
The version it meets is the champion of the same registry by default: the team's server in CI
when MLFLOW_TRACKING_URI points there, the embedded one on a laptop. Both models' files are
fetched through their contracts (hash-checked), and scored on the candidate's holdout; when the
champion was trained on another dataset version, on the champion's holdout as well.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
from mlflow.exceptions import MlflowException

from tabship.data import Project, load_config
from tabship.features import load_pipeline
from tabship.models.config import RunConfig, load_run_config
from tabship.models.jobs.train import train
from tabship.models.progress import Progress
from tabship.models.promotion.gate import evaluate_gate
from tabship.models.promotion.paired import Difference, compare
from tabship.models.registry.contract import fetch_served_files
from tabship.models.registry.files import MODEL_FILE, PIPELINE_FILE
from tabship.models.registry.registry import (
    CONFIGS_ARTIFACT,
    Registry,
    RegistryError,
    VersionInfo,
    display_uri,
)
from tabship.models.review.calibration import calibration
from tabship.models.review.flips import count_flips
from tabship.models.review.groups import compare_groups
from tabship.models.review.report import Review, Scoring, Side
from tabship.models.training.data import TrainingData, load_version
from tabship.models.training.fit import predict
from tabship.models.training.metrics import Scores, binary_metrics, group_metrics

CARD_ARTIFACT = "model_card/model_card.json"
DIFF_LINES = 200  # per config file: a review comment must stay under GitHub's 65,536 characters


class Loaded:
    """A registered version's model and pipeline, read through its contract, and its card."""

    def __init__(self, registry: Registry, info: VersionInfo, folder: Path) -> None:
        self.info = info
        fetch_served_files(registry, info, folder)
        self.booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
        self.pipeline = load_pipeline(folder / PIPELINE_FILE)
        self.model_bytes = (folder / MODEL_FILE).stat().st_size
        metrics, tags = registry.run_record(info.run_id)
        self.metrics, self.tags = metrics, tags
        self.card = _card(info.run_id, folder / "card")
        self._scores: dict[str, Scores] = {}

    def score(self, data: TrainingData) -> Scores:
        """The model's scores on DATA's holdout, once per dataset version (the comparison and
        the gate both need them)."""
        version = data.manifest.version
        if version not in self._scores:
            matrix = self.pipeline.transform(data.holdout).matrix
            self._scores[version] = predict(self.booster, matrix)
        return self._scores[version]

    def side(self) -> Side:
        card = self.card
        return Side(
            version=self.info.version,
            run_id=self.info.run_id,
            dataset_version=self.tags.get(
                "tabship.dataset_version", card.get("dataset_version", "")
            ),
            train_rows=card.get("train_rows"),
            holdout_rows=card.get("holdout_rows"),
            git_commit=self.tags.get("tabship.git_commit", card.get("git_commit", "")),
            schema_hash=card.get("schema_hash", ""),
            best_iteration=card.get("best_iteration"),
            train_seconds=self.metrics.get("train_seconds"),
            model_bytes=self.model_bytes,
            packages=card.get("packages", {}),
            feature_importance=card.get("feature_importance", {}),
        )


def _card(run_id: str, folder: Path) -> dict[str, Any]:
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=CARD_ARTIFACT, dst_path=str(folder)
        )
    except (MlflowException, OSError):
        return {}
    loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return loaded


def _configs(run_id: str, folder: Path) -> dict[str, str] | None:
    """The config files a run logged, by name; None for runs that logged none."""
    try:
        path = Path(mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=CONFIGS_ARTIFACT, dst_path=str(folder)))  # fmt: skip
    except (MlflowException, OSError):
        return None
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.iterdir()) if p.is_file()}


def config_diff(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """A unified diff per file that changed, each cut to DIFF_LINES lines."""
    found = {}
    for name in sorted(set(before) | set(after)):
        lines = list(difflib.unified_diff(
            before.get(name, "").splitlines(), after.get(name, "").splitlines(),
            f"champion/{name}", f"candidate/{name}", lineterm=""))  # fmt: skip
        if lines:
            cut = len(lines) - DIFF_LINES
            found[name] = lines[:DIFF_LINES] + ([f"... {cut} more lines"] if cut > 0 else [])
    return found


def score_both(
    run: RunConfig, data: TrainingData, champion: Loaded, candidate: Loaded, whose: str
) -> Scoring:
    """Both models on DATA's holdout: every metric, every group, flips and calibration."""
    threshold, y = run.train.threshold, data.y_holdout
    before, after = champion.score(data), candidate.score(data)
    groups, level = compare_groups(data.holdout, y, before, after, run.train.groups, threshold,
                                   run.train.min_group_size)  # fmt: skip
    return Scoring(
        dataset_version=data.manifest.version,
        whose=whose,
        rows=len(y),
        differences=compare(y, before, after, threshold),
        groups=groups,
        group_level=level,
        flips=count_flips(y, before, after, threshold),
        calibration={"champion": calibration(y, before), "candidate": calibration(y, after)},
    )


def review(
    project: Project,
    dataset: str | None = None,
    against: str = "champion",
    progress: Progress | None = None,
) -> Review:
    """The candidate of DATASET (trained now, or cached) against AGAINST: an alias or a version
    number of the same registered model. RegistryError when AGAINST names no version."""
    say = progress or (lambda _: None)
    run = load_run_config(project, dataset)
    result = train(project, progress=say, dataset=dataset, review=True)
    say(f"review: candidate version {result.model_version} "
        f"({'cached' if result.cached else 'trained'})")  # fmt: skip
    registry = Registry.for_config(project, run.train)
    target = registry.version(against) if against.isdigit() else registry.alias(against)
    if target is None and against.isdigit():
        raise RegistryError(f"{registry.name} has no version {against}")
    data_config = load_config(project.dataset(run.train.dataset).data_config, run.train.dataset)
    with tempfile.TemporaryDirectory(prefix="tabship-review-") as scratch:
        folder = Path(scratch)
        candidate = Loaded(registry, registry.version(result.model_version), folder / "candidate")
        data = load_version(project, data_config, result.dataset_version)
        after_configs = _configs(candidate.info.run_id, folder / "configs-candidate") or {}
        found = Review(
            model_name=registry.name,
            registry=display_uri(registry.uri),
            against=against,
            threshold=run.train.threshold,
            candidate=candidate.side(),
            champion=None,
            scorings=[],
            gate_passed=False,
            gate_checks=[],
            candidate_holdout=dict(result.holdout),
        )
        champion = None
        if target is None:
            found.notes.append(f"{registry.name} has no version with alias {against!r} in "
                               f"{found.registry}: the candidate is shown alone")  # fmt: skip
        else:
            say(f"review: scoring version {target.version} and the candidate on the same rows")
            champion = Loaded(registry, target, folder / "champion")
            found.champion = champion.side()
            found.scorings.append(score_both(run, data, champion, candidate, "candidate's"))
            other = found.champion.dataset_version
            if other and other != data.manifest.version:
                found.notes.append(f"the dataset versions differ: the candidate's "
                                   f"{data.manifest.version}, the {against}'s {other}")  # fmt: skip
                try:
                    theirs = load_version(project, data_config, other)
                except Exception as error:  # gone from the store, or an older schema
                    found.notes.append(f"the {against}'s holdout ({other}) cannot be read here: "
                                       f"{str(error).splitlines()[0][:200]}")  # fmt: skip
                else:
                    found.scorings.append(
                        score_both(run, theirs, champion, candidate, f"{against}'s")
                    )
            before_configs = _configs(target.run_id, folder / "configs-champion")
            found.configs_recorded = before_configs is not None
            found.config_diff = config_diff(before_configs or {}, after_configs)
        _gate(found, run, data, candidate, champion)
    return found


def _gate(
    found: Review, run: RunConfig, data: TrainingData, candidate: Loaded, champion: Loaded | None
) -> None:
    """The gate as a promotion would check it now: against this champion, on this holdout."""
    threshold = run.train.threshold
    score = candidate.score(data)
    holdout = binary_metrics(data.y_holdout, score, threshold)
    before = None
    if champion is not None:
        before = binary_metrics(data.y_holdout, champion.score(data), threshold)
    groups = group_metrics(data.holdout, data.y_holdout, score, run.train.groups, threshold,
                           run.train.min_group_size)  # fmt: skip
    # The candidate's paired gains over the baseline, as its run recorded them on this holdout.
    recorded = (candidate.card.get("baseline") or {}).get("gains") or {}
    gains = {m: Difference(**{k: v for k, v in gap.items() if k != "call"})
             for m, gap in recorded.items()}  # fmt: skip
    # (A run from before the paired check recorded none: the gate then has no baseline check.)
    paired = gains if run.gate.baseline and set(run.gate.baseline_margin) <= set(gains) else None
    gate = evaluate_gate(run.gate, holdout, before, groups, paired)
    found.gate_passed = gate.passed
    found.gate_checks = [
        {"name": c.name, "value": c.value, "limit": c.limit, "passed": c.passed}
        for c in gate.checks
    ]
