"""The bento: a BentoML build of the service around a model already in the model store.

BentoML's own locking is off: `bentoml build` would lock requirements with `uv pip compile` against
the public index, so the bentofile sets `python.lock_packages: false` and we hand it a requirements
file exported from the workspace lock (the exact versions every test ran with) plus the wheels of
the four workspace packages, made by tools/tabship_dev (or handed in as paths).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tabship.models import git_commit
from tabship.serving.runtime.modelstore import BuildError, StoredModel
from tabship.serving.settings import MODEL_TAG_ENV

BENTOFILE = Path("packages") / "serving" / "bentofile.yaml"


def make_artifacts(root: Path, out: Path) -> tuple[Path, Path]:
    """The workspace wheels and the serving requirements in OUT, made by the workspace's one
    artifacts tool (tools/tabship_dev): current wheels are reused, otherwise uv builds them with
    the index reachable, so nothing depends on what is in uv's cache. Returns (wheels, requirements).
    """
    requirements = out / "requirements-serving.txt"
    command = [sys.executable, "-m", "tabship_dev", "artifacts", "--out", str(out)]
    command += ["--requirements", str(requirements)]
    path = [str(root / "tools"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run(command, cwd=root, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        # The tool says the cause and the remedy in its last line.
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise BuildError(lines[-1])
    return out, requirements


def workspace_root(start: Path | None = None) -> Path:
    """The monorepo holding uv.lock and packages/serving/bentofile.yaml: above START (the cwd),
    else above this file (an editable install)."""
    for base in (start or Path.cwd(), Path(__file__)):
        for folder in (base.resolve(), *base.resolve().parents):
            if (folder / BENTOFILE).is_file() and (folder / "uv.lock").is_file():
                return folder
    raise BuildError(f"no {BENTOFILE} with a uv.lock beside it: run from the repository")


def build_bento(
    root: Path,
    stored: StoredModel,
    *,
    wheels: Path | None = None,
    requirements: Path | None = None,
) -> dict[str, Any]:
    """Build the bento from ROOT's packages/serving/bentofile.yaml in a scratch build context.

    ROOT is the workspace (uv.lock, the packages); the model comes from STORED. WHEELS is a folder
    of the workspace wheels and REQUIREMENTS an exported requirements file; when either is None,
    both are made (or reused) in ROOT/dist/wheels.
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
        if wheels is None or requirements is None:
            wheels, requirements = make_artifacts(root, root / "dist" / "wheels")
        # BentoML refuses wheel paths outside the build context: copy them in.
        shutil.copy2(requirements, context / "requirements.txt")
        (context / "wheels").mkdir()
        copied = [Path(shutil.copy2(w, context / "wheels")) for w in sorted(wheels.glob("*.whl"))]
        python = dict(bentofile.get("python") or {})
        python.update(
            requirements_txt="requirements.txt",
            wheels=[str(w.relative_to(context)) for w in copied],
            lock_packages=False,  # locking would resolve against the public index
        )
        # The service serves exactly the model the bento carries.
        envs = [e for e in bentofile.get("envs") or [] if e.get("name") != MODEL_TAG_ENV]
        envs.append({"name": MODEL_TAG_ENV, "value": stored.tag})
        bentofile.update(python=python, labels=labels, envs=envs)
        models = list(bentofile.get("models") or [])
        bentofile["models"] = [*models, stored.tag]
        (context / "bentofile.yaml").write_text(yaml.safe_dump(bentofile), encoding="utf-8")
        # BentoML refuses wheel paths outside the current directory.
        with contextlib.chdir(context):
            bento = bentoml.bentos.build_bentofile("bentofile.yaml", build_ctx=str(context))
    return {"bento": str(bento.tag), "path": str(bento.path), "labels": labels}
