"""The workspace: its root, its packages and their versions."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# In layer order: a package may depend only on the ones before it.
PACKAGES = ("data", "features", "models", "serving")


class ToolError(RuntimeError):
    """A step cannot go on; the message names the cause and the remedy in one line."""


def package_pyproject(package: str, root: Path = ROOT) -> dict[str, Any]:
    """The parsed pyproject.toml of one package."""
    with (root / "packages" / package / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def package_version(package: str, root: Path = ROOT) -> str:
    """A package's version, read from its own pyproject.toml."""
    return str(package_pyproject(package, root)["project"]["version"])


def uv() -> str:
    """The uv executable, pinned in requirements-bootstrap.txt (the one place uv is pinned)."""
    found = shutil.which("uv")
    if not found:
        raise ToolError(
            "uv is not on PATH: python3.11 -m pip install -r requirements-bootstrap.txt"
        )
    return found
