"""Keep compiled bytecode between `tabship-data` calls even where PYTHONDONTWRITEBYTECODE is set.

The team's machines set PYTHONDONTWRITEBYTECODE, so without this every direct call recompiles
polars, pandas and pandera from source: about 1.3 s of each call. nox's job sessions unset the
variable for the same reason. Here the caches go to a folder of their own (`sys.pycache_prefix`),
so the variable's purpose, no `__pycache__` folders beside the sources, still holds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

OPT_OUT = "TABSHIP_NO_BYTECODE_CACHE"  # set to 1 to write nothing, as the variable asks


def cache_folder() -> Path:
    """Where the caches go: $XDG_CACHE_HOME/tabship/pycache, else ~/.cache/tabship/pycache."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tabship" / "pycache"


def keep_bytecode() -> None:
    """Write bytecode for the modules imported from now on, under `cache_folder()`.

    A no-op when bytecode is written anyway, when a prefix is already chosen, or when the
    opt-out variable is set. Must run before the heavy imports, so the CLI calls it first.
    """
    if not sys.dont_write_bytecode or sys.pycache_prefix or os.environ.get(OPT_OUT):
        return
    sys.pycache_prefix = str(cache_folder())
    sys.dont_write_bytecode = False


def main() -> int:
    """The `tabship-data` console script: keep bytecode first, then import and run the CLI."""
    keep_bytecode()
    from tabship.data.cli import main as cli_main  # imported after keep_bytecode, on purpose

    return cli_main()
