"""`nox -s bench -- [NAME ...] [OPTION ...]`: run bench/bench_NAME.py for each NAME in turn.

    train     `invoke train` against a bare LightGBM script (bench_train.py)
    data      ingest against a bare polars script, and validation (bench_data.py)
    monitor   `tabship-models monitor` over 1M logged predictions (bench_monitor.py)
    bulk      six 200,000-row requests at once: peak RSS with and without admission control
    tune      default parameters against the search, on Adult and on 1,000-row samples
    image     the serving image: cold build, size, rebuilds unchanged and after a one-file change

Without a NAME: data, then train. Every OPTION (the arguments from the first one starting with
`-`) goes to each script: `nox -s bench -- data --no-compare`. Stops at the first that fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = ["data", "train"]


def split(argv: list[str]) -> tuple[list[str], list[str]]:
    """(names, options): the options start at the first argument that starts with `-`."""
    first = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    return argv[:first] or list(DEFAULT), argv[first:]


def main(argv: list[str]) -> int:
    """Run each named benchmark with the options; the first non-zero exit code, else 0."""
    names, options = split(argv)
    known = sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))
    unknown = [name for name in names if name not in known]
    if unknown:
        print(f"bench: no benchmark {', '.join(unknown)}; there are: {', '.join(known)}",
              file=sys.stderr)  # fmt: skip
        return 2
    for name in names:
        command = [sys.executable, str(HERE / f"bench_{name}.py"), *options]
        print(f"bench: {' '.join(command)}", flush=True)
        code = subprocess.run(command, check=False).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
