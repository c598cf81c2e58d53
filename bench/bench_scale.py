"""Benchmark the two engines at scale: synthetic Adult-shaped rows (1M and 10M by default), one
process against a Dask LocalCluster of 2 workers (1 thread each), measured in one run.

For each size the rows are written once (`tabship-data synth`), then each engine runs in a child
process of its own, in turns, so that each one's peak RSS (ru_maxrss) is its own:

- single: `ingest` (rows/s), then the training step of `train` (load the needed columns, fit the
  pipeline, CV, final fit, holdout scores);
- dask: `ingest_partitioned` on the cluster (rows/s), then the same training step on the cluster
  (`train_on_dask`); each worker's peak RSS is asked of the worker itself.

Nothing is registered: the benchmark measures the engines, not MLflow. The synthetic dataset's
train.yaml sets the work (3 folds, up to 100 rounds, 31 leaves, 2 threads in all). Every figure
is printed with the load average, because other work on this machine slows LightGBM.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GOALS = "goals at 10M: dask/single training <= 1.2, every worker <= 8 GB, one process <= 8 GB"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(engine: str, source: Path, store: Path, workers: int) -> dict[str, Any]:
    """One engine's run on SOURCE, in this (child) process."""
    import tabship.data as td
    from tabship.models import fit_model, load_run_config, load_version
    from tabship.models.config import with_overrides
    from tabship.models.training.fit import training_columns

    project = replace(td.project_at(REPO), store=store)  # the benchmark's own store
    run = with_overrides(load_run_config(project, "synth"), engine, None, source)
    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"  [{engine} {time.perf_counter() - began:6.1f}s] {message}", file=sys.stderr,
              flush=True)  # fmt: skip

    if engine == "single":
        started = time.perf_counter()
        result = td.ingest(run.data, store=store)
        ingest = time.perf_counter() - started
        data = load_version(project, run.data, result.version, *training_columns(run))
        trained = fit_model(data, run.features, run.train, say)
        train = time.perf_counter() - started - ingest
        return {"rows": result.rows_in, "ingest_s": ingest, "train_s": train,
                "auc": trained.holdout["roc_auc"], "peak_mb": _peak_mb(), "workers_mb": []}  # fmt: skip
    return _dask_child(project, run, workers, say)


def _dask_child(project: Any, run: Any, workers: int, say: Any) -> dict[str, Any]:
    from tabship.models.dask.cluster import dask_client
    from tabship.models.dask.train import train_on_dask

    # The engine's own LocalCluster, kept open here so that its workers can be asked their peaks.
    settings = replace(run.train.dask, workers=workers)
    with dask_client(settings) as client:
        address = str(client.scheduler_info()["address"])
        run = replace(run, train=replace(run.train, dask=replace(settings, scheduler=address)))
        started = time.perf_counter()
        data, trained, ingest = train_on_dask(project, run, say)
        train = time.perf_counter() - started - ingest
        peaks = client.run(_peak_mb)
    rows = json.loads((data.version.path / "report.json").read_text())["rows_in"]
    return {"rows": rows, "ingest_s": ingest, "train_s": train, "auc": trained.holdout["roc_auc"],
            "peak_mb": _peak_mb(), "workers_mb": sorted(peaks.values())}  # fmt: skip


def _measure(engine: str, source: Path, store: Path, workers: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", engine, "--source", str(source),
               "--store", str(store), "--workers", str(workers)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{engine} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    steps = [line for line in done.stderr.splitlines() if line.startswith(f"  [{engine} ")]
    print("\n".join(steps), flush=True)  # each step's start, for where the time goes
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = _load()
    return result


def _line(engine: str, r: dict[str, Any]) -> str:
    workers = ", ".join(f"{mb:,.0f}" for mb in r["workers_mb"])
    per_worker = f"; workers {workers} MB" if workers else ""
    return (
        f"  {engine:6}  ingest {r['ingest_s']:7.1f} s ({r['rows'] / r['ingest_s']:>10,.0f} rows/s)"
        f"  training {r['train_s']:7.1f} s  holdout ROC-AUC {r['auc']:.4f}"
        f"  peak RSS: process {r['peak_mb']:,.0f} MB{per_worker}  (load {r['load']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--engines", nargs="+", choices=("single", "dask"), default=["single", "dask"]
    )
    parser.add_argument("--child", choices=("single", "dask"), help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.source, args.store, args.workers)))
        return
    import tabship.data as td

    config = td.load_config(REPO / "configs" / "datasets" / "synth" / "data.yaml", "synth")
    print(f"tabship bench_scale: {GOALS}")
    with tempfile.TemporaryDirectory(prefix="tabship-bench-scale-") as folder:
        for rows in args.rows:
            source = Path(folder) / f"rows-{rows}"
            started = time.perf_counter()
            # A million rows a partition, and at least two partitions per worker.
            partitions = max(2 * args.workers, rows // 1_000_000)
            files = td.write_synthetic(config, td.load_schema(config), rows, source, partitions)
            print(f"{rows:,} rows in {len(files)} partitions, written in "
                  f"{time.perf_counter() - started:.1f} s (load {_load()})", flush=True)  # fmt: skip
            found = {}
            for engine in args.engines:
                found[engine] = _measure(engine, source, Path(folder) / f"{engine}-{rows}",
                                         args.workers)  # fmt: skip
                print(_line(engine, found[engine]), flush=True)
            if len(found) < 2:
                continue
            single, spread = found["single"], found["dask"]
            print(f"  ratio dask/single: training {spread['train_s'] / single['train_s']:.2f}, "
                  f"ingest rows/s {single['ingest_s'] / spread['ingest_s']:.2f}, "
                  f"largest worker {max(spread['workers_mb']) / 1024:.1f} GB, "
                  f"one process {single['peak_mb'] / 1024:.1f} GB  (load {_load()})",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
