"""Benchmark the hyperparameter search (train.yaml `tune:`), measured in one run:

1. Adult (32,561 training rows, its official test file as the holdout): train.yaml's default
   parameters against a model tuned with TRIALS trials: holdout ROC-AUC and training time each.
2. Small data: SEEDS samples of 1,000 Adult rows, each made a new dataset by `tabship-data init`
   (its hash split: about 800 training and 200 holdout rows). On each holdout: init's fixed
   parameters, the tuned model (init's proposed search) and the gate's logistic-regression
   baseline. How often each wins, the mean paired difference over the samples with its 95%
   t-interval, and how many samples end with a champion under the old point-margin gate (the
   fixed parameters) and under the paired gate (the tuned model).
3. The search's optimism on both: best CV ROC-AUC minus holdout ROC-AUC.

Everything runs in a temporary folder; the load average is printed before and after.
`nox -s bench -- tune [--trials 30] [--seeds 10] [--no-adult]`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from scipy import stats  # type: ignore[import-untyped]  # scipy ships no types

from tabship.data import project_at
from tabship.models import fit_model, load_run_config, load_training_data
from tabship.models.jobs.tune import study_tuner
from tabship.models.promotion.gate import evaluate_gate
from tabship.models.promotion.judge import baseline_gains
from tabship.models.training.baseline import fit_baseline
from tabship.models.training.fit import training_columns
from tabship.models.tuning.result import SearchResult

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HEADER = ("age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,"
          "race,sex,capital-gain,capital-loss,hours-per-week,native-country,income")  # fmt: skip


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def fit(root: Path, tune: bool, trials: int | None = None) -> dict[str, Any]:
    """Train the project's default dataset in process: holdout scores, seconds, the search."""
    project = project_at(root)
    run = load_run_config(project)
    config = run.train
    if trials is not None:
        config = replace(config, tune=replace(config.tune, enabled=True, trials=trials,
                                              timeout_seconds=3600))  # fmt: skip
    if not tune:
        config = replace(config, tune=replace(config.tune, enabled=False))
    run = replace(run, train=config)
    data = load_training_data(project, run.data, None, *training_columns(run))
    found: list[SearchResult] = []
    hook = study_tuner(project, run, data.manifest.version, lambda _: None, found) if tune else None
    started = time.perf_counter()
    trained = fit_model(data, run.features, config, lambda _: None, hook)
    seconds = time.perf_counter() - started
    search = found[0] if found else None
    return {"run": run, "data": data, "trained": trained, "seconds": seconds, "search": search,
            "auc": trained.holdout["roc_auc"]}  # fmt: skip


def adult(folder: Path, trials: int) -> list[float]:
    root = folder / "adult"
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copytree(REPO / "data" / "raw", root / "data" / "raw")
    print(f"\n1. Adult, default parameters against {trials} trials ({load()})", flush=True)
    default = fit(root, tune=False)
    tuned = fit(root, tune=True, trials=trials)
    search = tuned["search"]
    optimism = search.optimism(tuned["auc"])
    print(
        f"   default  holdout ROC-AUC {default['auc']:.4f}   training {default['seconds']:7.1f} s"
    )
    print(f"   tuned    holdout ROC-AUC {tuned['auc']:.4f}   training {tuned['seconds']:7.1f} s "
          f"(search {search.seconds:.1f} s: {search.count('complete')} complete, "
          f"{search.count('pruned')} pruned)")  # fmt: skip
    print(f"   difference {tuned['auc'] - default['auc']:+.4f}; time ratio "
          f"{tuned['seconds'] / default['seconds']:.1f}x; best CV {search.best_value:.4f}, "
          f"optimism {optimism:+.4f}")  # fmt: skip
    print(f"   best: {search.best_params}")
    return [optimism]


def small_sample(folder: Path, seed: int, lines: list[str]) -> Path:
    root = folder / f"small-{seed}"
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    rows = random.Random(seed).sample(lines, 1000)  # noqa: S311 - a reproducible sample
    body = [",".join(field.strip() for field in line.split(",")) for line in rows]
    (raw / "people.csv").write_text("\n".join([HEADER, *body]) + "\n", encoding="utf-8")
    subprocess.run([str(BIN / "tabship-data"), "init", "data/raw/people.csv", "--target",
                    "income", "--positive", ">50K", "--json"], cwd=root, check=True,
                   capture_output=True)  # fmt: skip
    return root


def interval(values: list[float]) -> str:
    mean = statistics.fmean(values)
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return f"{mean:+.4f} (95% t-interval {mean - half:+.4f} to {mean + half:+.4f})"


def small(folder: Path, seeds: int) -> list[float]:
    text = (REPO / "data" / "raw" / "adult.data").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    print(f"\n2. Small data: {seeds} samples of 1,000 Adult rows ({load()})", flush=True)
    print("   seed  train holdout  default   tuned  log.reg.  old gate  paired gate")
    wins = {"default": 0, "tuned": 0, "logistic regression": 0}
    gaps: dict[str, list[float]] = {"tuned - default": [], "tuned - log.reg.": [],
                                    "default - log.reg.": []}  # fmt: skip
    optimism: list[float] = []
    # A champion, for each model (fixed parameters, tuned) under each gate (point, paired).
    champions = {(m, g): 0 for m in ("fixed", "tuned") for g in ("point", "paired")}
    for seed in range(seeds):
        root = small_sample(folder, seed, lines)
        default, tuned = fit(root, tune=False), fit(root, tune=True)
        run, data = tuned["run"], tuned["data"]
        linear = fit_baseline("logistic_regression", data, run.features, 0.5, run.train.seed)
        scores = {"default": default["auc"], "tuned": tuned["auc"],
                  "logistic regression": linear.holdout["roc_auc"]}  # fmt: skip
        wins[max(scores, key=lambda name: scores[name])] += 1
        gaps["tuned - default"].append(tuned["auc"] - default["auc"])
        gaps["tuned - log.reg."].append(tuned["auc"] - linear.holdout["roc_auc"])
        gaps["default - log.reg."].append(default["auc"] - linear.holdout["roc_auc"])
        optimism.append(tuned["search"].optimism(tuned["auc"]))
        margin = run.gate.baseline_margin["roc_auc"]
        passed = {}
        for model, found in (("fixed", default), ("tuned", tuned)):
            trained = found["trained"]
            # The point margin, as the gate was before; then the paired check it is now.
            passed[model, "point"] = found["auc"] >= linear.holdout["roc_auc"] + margin
            gains = baseline_gains(run, data, trained.score, linear.score)
            passed[model, "paired"] = evaluate_gate(run.gate, trained.holdout, None, [],
                                                    gains).passed  # fmt: skip
        for key, ok in passed.items():
            champions[key] += ok
        old, new = passed["fixed", "point"], passed["tuned", "paired"]
        print(
            f"   {seed:4d}  {len(data.train):5d} {len(data.holdout):7d}  "
            f"{default['auc']:.4f}  {tuned['auc']:.4f}   {linear.holdout['roc_auc']:.4f}  "
            f"{'pass' if old else 'FAIL':>8}  {'pass' if new else 'FAIL':>11}",
            flush=True,
        )
    print("   wins (highest holdout ROC-AUC): "
          + ", ".join(f"{name} {count}/{seeds}" for name, count in wins.items()))  # fmt: skip
    for name, values in gaps.items():
        print(f"   mean {name}: {interval(values)}")
    print("   a champion, of the samples: " + ", ".join(
        f"{model} parameters with the {gate} gate {count}/{seeds}"
        for (model, gate), count in champions.items()))  # fmt: skip
    print(f"   search optimism (best CV minus holdout): {interval(optimism)}")
    return optimism


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=30, help="Adult's search budget")
    parser.add_argument("--seeds", type=int, default=10, help="small samples")
    parser.add_argument("--no-adult", action="store_true", help="only the small samples")
    args = parser.parse_args()
    for name in ("MLFLOW_TRACKING_URI", "TABSHIP_DATA_STORE", "TABSHIP_STUDY_STORAGE"):
        os.environ.pop(name, None)
    started = time.perf_counter()
    print(f"bench tune: {os.cpu_count()} cores, {load()}")
    with tempfile.TemporaryDirectory(prefix="tabship-bench-tune-") as scratch:
        folder = Path(scratch)
        if not args.no_adult:
            adult(folder, args.trials)
        small(folder, args.seeds)
    print(f"\nbench tune: {time.perf_counter() - started:.0f} s, {load()}")


if __name__ == "__main__":
    main()
