"""Benchmark `tabship-models monitor` over a prediction log of 1M lines (goal: <= 30 s, <= 2 GB).

In a temporary copy of the repository: train the champion on Adult, write a log as the service
writes it (bentoml.monitor's JSON lines) of N predictions made from the holdout rows with the
champion's real scores, and a label file for every prediction; then time `tabship-models monitor
--window N`, which compacts the whole log and judges all N rows (drift, the label-free estimate
and live performance), and again once nothing is new. Each run is its own process, so its peak RSS
(ru_maxrss) is its own. Prints rows/s, peak RSS and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_train import copy_repo  # type: ignore[import-not-found]  # beside this script

MODEL = "tabship-adult"


def write_log(root: Path, rows: int) -> None:
    """ROWS logged predictions (holdout rows, tiled, with the champion's scores) and labels."""
    import numpy as np
    import polars as pl

    from tabship.data import project_at
    from tabship.models import CHAMPION, Registry, load_run_config, load_version, predict

    project = project_at(root)
    run = load_run_config(project)
    holdout = load_version(project, run.data).holdout[list(run.data.columns)]
    registry = Registry(project, run.train.model_name, run.train.experiment)
    champion = registry.alias(CHAMPION)
    assert champion is not None
    booster, pipeline = registry.load(champion)
    scores = predict(booster, pipeline.transform(holdout).matrix)
    index = np.arange(rows) % len(holdout)
    target = run.data.target.column
    frame = pl.from_pandas(holdout.drop(columns=target).iloc[index].reset_index(drop=True))
    ids = [f"bench{i // 100}-{i % 100}" for i in range(rows)]
    seconds = np.arange(rows) // 1000
    stamps = [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_796_000_000 + s)) for s in seconds]
    frame = frame.with_columns(
        pl.Series("score", scores[index]),
        pl.Series("label", (scores[index] >= 0.5).astype("int64")),
        pl.Series("prediction_id", ids),
        pl.lit("1").alias("model_version"),
        pl.Series("timestamp", stamps),
        pl.Series("request_id", [str(10**18 + i // 100) for i in range(rows)]),
        pl.lit("0").alias("trace_id"),
    )
    log = root / "monitoring" / MODEL / "tabship_predictions" / "data"
    log.mkdir(parents=True)
    frame.write_ndjson(log / "data.1.log")
    labels = root / "monitoring" / MODEL / "labels"
    labels.mkdir()
    truth = holdout[target].to_numpy()[index]
    pl.DataFrame({"prediction_id": ids, "label": truth}).write_csv(labels / "all.csv")


# Runs one command and writes its peak RSS (KB) to a file: RUSAGE_CHILDREN of this wrapper holds
# that command only, not the training run or anything else the benchmark started.
WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(code)"
)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of COMMAND, in its own process."""
    peak_file = cwd / "peak-rss.txt"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(peak_file), *command],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, int(peak_file.read_text()) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="logged predictions")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TABSHIP_"))}
    env["PYTHONDONTWRITEBYTECODE"] = ""
    models = str(Path(sys.executable).parent / "tabship-models")
    with tempfile.TemporaryDirectory(prefix="tabship-bench-monitor-") as folder:
        root = Path(folder)
        copy_repo(root)
        subprocess.run([models, "--project", str(root), "train"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        write_log(root, args.rows)
        size = sum(p.stat().st_size for p in (root / "monitoring").rglob("*.log"))
        command = [models, "--project", str(root), "monitor", "--window", str(args.rows), "--json"]
        first, peak, out = timed(command, root, env)
        report = json.loads(out)
        again, peak_again, _ = timed(command, root, env)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"monitor over {args.rows:,} logged predictions ({size / 1e6:.0f} MB of JSON lines), "
          f"load average {load}")  # fmt: skip
    print(f"  first run (compacts every line): {first:6.1f} s  {args.rows / first:>10,.0f} rows/s")
    print(f"  rerun (nothing new to compact):  {again:6.1f} s  {args.rows / again:>10,.0f} rows/s")
    print(f"  peak RSS {peak:,.0f} MB first, {peak_again:,.0f} MB rerun (goal <= 2,048 MB); "
          "goal <= 30 s")  # fmt: skip
    print(f"  window {report['window']['rows']:,} rows, {report['live']['labelled']:,} labelled, "
          f"status {report['status']}, drifted {report['drift']['drifted'] or 'none'}")  # fmt: skip


if __name__ == "__main__":
    main()
