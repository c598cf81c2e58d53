"""The bento: a BentoML build of the service around a model already in the model store.

The build needs no network. `bentoml build` would lock requirements with `uv pip compile` against
the public index, so the bentofile sets `python.lock_packages: false` and we hand it a requirements
file exported from the workspace lock (the exact versions every test ran with) plus the wheels of
the four workspace packages, built here.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tabship.models import git_commit
from tabship.serving.modelstore import BuildError, StoredModel

BENTOFILE = Path("packages") / "serving" / "bentofile.yaml"


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
