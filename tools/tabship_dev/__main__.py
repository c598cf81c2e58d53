"""`python -m tabship_dev COMMAND`: the workspace's build outputs (more tasks to come).

    artifacts [--out DIR] [--requirements FILE] [--sdists] [--rebuild] [--offline] [--check]

Run with tools/ on PYTHONPATH. Every failure is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tabship_dev import artifacts
from tabship_dev.workspace import ToolError


def cmd_artifacts(args: argparse.Namespace) -> int:
    """The workspace wheels and the serving requirements, for the bento and the images."""
    out: Path = args.out
    wheels = artifacts.build_wheels(
        out, sdists=args.sdists, offline=args.offline, rebuild=args.rebuild
    )
    requirements = args.requirements or out / artifacts.SERVING_REQUIREMENTS
    # The bento installs these beside the wheels: pinned, but without hashes (the wheels have none).
    artifacts.export_requirements(requirements, package="tabship-serving", hashes=False)
    document = {"wheels": [str(w) for w in wheels], "requirements": str(requirements)}
    if args.check:
        document["imported"] = artifacts.check_wheels(wheels)
    names = ", ".join(w.name for w in wheels)
    print(json.dumps(document) if args.json else f"wheels: {names}\nrequirements: {requirements}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(
        prog="python -m tabship_dev",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True)
    made = commands.add_parser("artifacts", help="workspace wheels and exported requirements")
    made.add_argument("--out", type=Path, default=artifacts.WHEELS, help="default: dist/wheels")
    made.add_argument("--requirements", type=Path, default=None,
                      help=f"default: OUT/{artifacts.SERVING_REQUIREMENTS}")  # fmt: skip
    made.add_argument("--sdists", action="store_true", help="sdists too (always rebuilds)")
    made.add_argument("--rebuild", action="store_true", help="even when OUT's wheels are current")
    made.add_argument("--offline", action="store_true", help="never reach the index (uv --offline)")
    made.add_argument("--check", action="store_true", help="install them in a new venv and import")
    made.add_argument("--json", action="store_true", help="print one JSON object")
    made.set_defaults(run=cmd_artifacts)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ToolError as error:
        print(f"tabship_dev {args.command}: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        command = " ".join(map(str, error.cmd[:3]))
        print(
            f"tabship_dev {args.command}: `{command} ...` failed ({error.returncode})",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
