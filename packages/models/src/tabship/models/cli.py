"""The `tabship-models` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tabship.models import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="tabship-models", description=__doc__)
    parser.add_argument("--version", action="store_true", help="print the package version")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps({"package": "tabship-models", "version": __version__}))
    else:
        print(f"tabship-models {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
