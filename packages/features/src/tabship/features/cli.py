"""The `tabship-features` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tabship.features import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="tabship-features", description=__doc__)
    parser.add_argument("--version", action="store_true", help="print the package version")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps({"package": "tabship-features", "version": __version__}))
    else:
        print(f"tabship-features {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
