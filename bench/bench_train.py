"""Benchmark `invoke train` against a bare LightGBM script doing the same CV and holdout, and
against the team stack (an MLflow server on PostgreSQL, artifacts and data in SeaweedFS's S3)
beside the embedded sqlite registry.

Runs in a temporary copy of the repository (so the benchmark's model versions do not land in your
registry), measured side by side in one run: a warm-up `invoke train` (which also builds the nox
environment), the no-op rerun (the cache), then `invoke train --force` and the bare script taken
in turns, keeping the best of each. Then the stack starts (timed) and `invoke train --force`
against it takes turns with the same against sqlite. Prints the load average, since other work on
the machine slows LightGBM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # the stack's launcher (tools/tabship_dev/stack.py)


def copy_repo(target: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2, help="forced trainings and bare runs")
    parser.add_argument("--no-stack", action="store_true", help="skip the team stack's timings")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "NOX"))}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("TABSHIP_DATA_STORE", None)
    with tempfile.TemporaryDirectory(prefix="tabship-bench-") as folder:
        root = Path(folder)
        copy_repo(root)
        warm = timed(["invoke", "train"], root, env)
        noop = min(timed(["invoke", "train"], root, env) for _ in range(3))
        python = str(root / ".nox" / "train" / "bin" / "python")
        forced, bare = [], []
        for _ in range(args.repeats):
            forced.append(timed(["invoke", "train", "--force"], root, env))
            bare.append(timed([python, "bench/bare_lightgbm.py", str(root)], root, env))
        team = None if args.no_stack else against_the_stack(root, env, args.repeats)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before the end: {load}")
    print(f"invoke train, first run (builds the environment): {warm:8.2f} s")
    print(f"invoke train, no-op rerun (cached), best of 3:    {noop:8.2f} s   goal <= 1 s")
    print(f"invoke train --force, best of {args.repeats}:               {min(forced):8.2f} s")
    print(f"bare LightGBM script, best of {args.repeats}:               {min(bare):8.2f} s")
    print(f"ratio invoke train / bare script:                 {min(forced) / min(bare):8.2f}"
          "     goal <= 1.3")  # fmt: skip
    if team is not None:
        start, server, sqlite = team
        print(f"team stack start (PostgreSQL, SeaweedFS, MLflow server): {start:8.2f} s")
        print(
            f"invoke train --force, sqlite registry, best of {args.repeats}: {min(sqlite):8.2f} s"
        )
        print(
            f"invoke train --force, MLflow server + S3, best of {args.repeats}: {min(server):8.2f} s"
        )
        print(f"ratio server / sqlite:                            {min(server) / min(sqlite):8.2f}")


def against_the_stack(
    root: Path, env: dict[str, str], repeats: int
) -> tuple[float, list[float], list[float]]:
    """The stack's start time, then forced trainings against it and against sqlite, in turns."""
    from tabship_dev import stack

    folder = Path(tempfile.mkdtemp(prefix="tabship-bench-stack-"))
    folder.chmod(0o711)  # as root, PostgreSQL runs as `postgres`, who must enter it
    try:
        started = time.perf_counter()
        up = stack.up(folder)
        start = time.perf_counter() - started
        team = {**env, **up["env"]}
        timed(["invoke", "train"], root, team)  # the first run against it: its experiment
        server, sqlite = [], []
        for _ in range(repeats):
            server.append(timed(["invoke", "train", "--force"], root, team))
            sqlite.append(timed(["invoke", "train", "--force"], root, env))
        return start, server, sqlite
    finally:
        stack.down(folder, purge=True)


if __name__ == "__main__":
    main()
