"""Shared fixtures for the cross-package tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def run_git(cwd: Path, *args: str) -> str:
    """Run git in CWD with a fixed identity, and return its output."""
    result = subprocess.run(
        ["git", "-c", "user.name=tabship-test", "-c", "user.email=test@tabship.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@pytest.fixture(scope="session")
def git() -> Callable[..., str]:
    """run_git(cwd, *args), as a fixture: test modules cannot import conftest under importlib mode."""
    return run_git


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A new git repository holding a copy of the project's tracked files, in one commit."""
    copy = tmp_path / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    run_git(copy, "init", "--quiet", "--initial-branch=main")
    run_git(copy, "add", "--all")
    run_git(copy, "commit", "--quiet", "-m", "copy")
    return copy
