"""`tabship-serving build`: the MLflow champion into the BentoML model store, then a bento.

The build needs no network. `bentoml build` would lock requirements with `uv pip compile` against
the public index, so the bentofile sets `python.lock_packages: false` and we hand it a requirements
file exported from the workspace lock (the exact versions every test ran with) plus the wheels of
the four workspace packages, built here.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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

BENTOFILE = Path("packages") / "serving" / "bentofile.yaml"


class BuildError(RuntimeError):
    """The build cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class StoredModel:
    """A served model in the BentoML model store."""

    tag: str
    facts: ModelFacts
    created: bool


def git_commit(root: Path) -> str:
    """HEAD of the repository at ROOT, with -dirty for uncommitted changes; `unknown` without git."""

    def run(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    try:
        commit = run("rev-parse", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def store_champion(root: Path) -> StoredModel:
    """Copy the registry's champion (model file, pipeline, request schema) into the model store.

    Idempotent: when the store already holds this model version, that entry is returned.
    """
    import bentoml

    from tabship.data.config import load_config
    from tabship.data.schema import load_schema
    from tabship.models.config import load_train_config
    from tabship.models.registry import CHAMPION, Registry

    config = load_train_config(root / "configs" / "train.yaml")
    registry = Registry(root, config.model_name, config.experiment)
    info = registry.alias(CHAMPION)
    if info is None:
        raise BuildError(f"{config.model_name} has no champion: train one first (nox -s train)")
    try:
        known = bentoml.models.list(config.model_name)
    except bentoml.exceptions.NotFound:
        known = []
    for existing in known:
        if existing.info.labels.get("model_version") == info.version:
            facts = read_facts(Path(existing.path))
            return StoredModel(str(existing.tag), facts, created=False)
    tags = registry.client.get_run(info.run_id).data.tags
    data_config = load_config(root / "configs" / "data.yaml", config.dataset)
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


def _requirements(root: Path, out: Path) -> None:
    """Third-party requirements of tabship-serving, pinned by the workspace lock."""
    subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--no-hashes",
            "--package",
            "tabship-serving",
            "--no-emit-workspace",
            "--no-default-groups",
            "--no-header",
            "--output-file",
            str(out),
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )


def _wheels(root: Path, out: Path) -> list[Path]:
    """Wheels of the workspace packages (the bento installs them beside the requirements)."""
    subprocess.run(
        ["uv", "build", "--wheel", "--all-packages", "--offline", "--out-dir", str(out)],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return sorted(out.glob("*.whl"))


def workspace_root(start: Path | None = None) -> Path:
    """The monorepo holding uv.lock and packages/serving/bentofile.yaml: above START (the cwd),
    else above this file (an editable install)."""
    for base in (start or Path.cwd(), Path(__file__)):
        for folder in (base.resolve(), *base.resolve().parents):
            if (folder / BENTOFILE).is_file() and (folder / "uv.lock").is_file():
                return folder
    raise BuildError(f"no {BENTOFILE} with a uv.lock beside it: run from the repository")


def build_bento(root: Path, stored: StoredModel) -> dict[str, Any]:
    """Build the bento from ROOT's packages/serving/bentofile.yaml in a scratch build context.

    ROOT is the workspace (uv.lock, the packages); the model comes from STORED.
    """
    import bentoml

    bentofile = yaml.safe_load((root / BENTOFILE).read_text(encoding="utf-8"))
    labels = {
        **(bentofile.get("labels") or {}),
        "model_tag": stored.tag.replace(":", "-"),
        "model_version": stored.facts.model_version,
        "dataset_version": stored.facts.dataset_version,
        "git_commit": git_commit(root),
    }
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch)
        _requirements(root, context / "requirements.txt")
        wheels = _wheels(root, context / "wheels")
        python = dict(bentofile.get("python") or {})
        python.update(
            requirements_txt="requirements.txt",
            wheels=[str(w.relative_to(context)) for w in wheels],
            lock_packages=False,  # locking would resolve against the public index
        )
        bentofile.update(python=python, labels=labels)
        models = list(bentofile.get("models") or [])
        bentofile["models"] = [*models, stored.tag]
        (context / "bentofile.yaml").write_text(yaml.safe_dump(bentofile), encoding="utf-8")
        # BentoML refuses wheel paths outside the current directory.
        with contextlib.chdir(context):
            bento = bentoml.bentos.build_bentofile("bentofile.yaml", build_ctx=str(context))
    return {"bento": str(bento.tag), "path": str(bento.path), "labels": labels}
