"""Serving benchmark: `nox -s bench_serve` (or `python bench/bench_serve.py [--seconds N]`).

Starts `tabship-serving serve` on a free loopback port and measures, in one run:
- time from launch to /readyz answering 200, and the server's RSS (all its processes);
- closed-loop load at concurrency 1, 8 and 32 against predict_one, the same route doing nothing
  (/bench/noop, mounted for the bench alone: the framework's ceiling) and /healthz, each for
  --seconds (default 20): req/s, p50, p99, and predict_one's throughput over the other two;
- 100,000 rows scored over HTTP (/predict_columns, and 10 x /predict of 10,000) against
  in-process scoring of the same rows, then the RSS every 5 s for 30 s (does it come back?);
- a load step: --load-seconds (60) at concurrency 64 of valid and invalid requests, 404s on random
  paths among them: 5xx, connection errors, 4xx bodies not in the one error shape, and how many
  /metrics series the random paths added;
- a soak: --soak-seconds (600) of mixed traffic at concurrency 16 (single rows, 1,000-row
  batches, invalid bodies), with the RSS at the start, after warm-up and at the end;
- the cost of shadow mode: predict_one at concurrency 8 on two servers side by side, shadow off
  and shadow on, --shadow-seconds (10) per round, --shadow-rounds (3) each, taking turns: the
  best rounds, and the median of each round on over the round off beside it (0 seconds or 0
  rounds: no shadow step). `--shadow-only` runs this step alone. The challenger is the registry's
  `challenger`, else its `previous`, else the champion itself (a stand-in of the same size).

The load client is a minimal asyncio HTTP/1.1 keep-alive client (no wrk on this machine, and
httpx's own overhead would cap the numbers); it shares the 2 cores with the server, so the
figures are a floor. The load average is printed: compare runs made on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import serve_traffic as traffic  # type: ignore[import-not-found]  # beside this script
from serve_load import (  # type: ignore[import-not-found]  # beside this script
    free_port,
    load,
    rss_mb,
    start_server,
    wait_ready,
)
from serve_shadow import shadow_step  # type: ignore[import-not-found]  # beside this script

from tabship.data import LOG_ENV, Project, project_at
from tabship.serving.web.onerecord import NOOP_ENV, NOOP_PATH

GOALS = {"ratio": 0.7, "noop_ratio": 0.5, "p99_c32_x": 3.0, "bulk_x": 3.0, "ready_s": 4.0,
         "soak_growth": 0.10}  # fmt: skip


def post_json(client: httpx.Client, path: str, document: Any) -> tuple[Any, float]:
    """POST DOCUMENT as JSON; the answer and the wall time including encoding and decoding."""
    started = time.perf_counter()
    data = json.dumps(document).encode()
    response = client.post(path, content=data, headers={"Content-Type": "application/json"})
    response.raise_for_status()
    return json.loads(response.content), time.perf_counter() - started


def holdout_rows(project: Project, n: int, fields: list[str]) -> list[dict[str, Any]]:
    """N holdout rows of the project's latest dataset version (drawn with replacement)."""
    from tabship.models import load_run_config, load_version
    from tabship.serving.simulate.covariate import records

    frame = load_version(project, load_run_config(project).data).holdout[fields]
    frame = frame.sample(n=n, replace=len(frame) < n, random_state=0).reset_index(drop=True)
    return records(frame, fields)


def load_steps(port: int, one: dict[str, Any], seconds: float) -> list[dict[str, Any]]:
    """predict_one, the no-op predict_one (the same route doing nothing: onerecord.py's NoOp)
    and /healthz at each concurrency, side by side."""
    body = json.dumps(one).encode()
    targets = {
        "predict_one": traffic.http_request("POST", "/predict_one", body),
        "noop": traffic.http_request("POST", NOOP_PATH, body),
        "healthz": traffic.http_request("GET", "/healthz"),
    }
    load(port, targets["predict_one"], 4, min(2.0, seconds))  # warm-up
    print(f"\n{'target':<12} {'c':>3} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    steps: list[dict[str, Any]] = []
    for concurrency in (1, 8, 32):
        step: dict[str, Any] = {"concurrency": concurrency}
        for name, request in targets.items():
            figures = load(port, request, concurrency, seconds)
            step[name] = figures
            print(
                f"{name:<12} {concurrency:>3} {figures['rps']:>9.0f} {figures['p50_ms']:>8.2f}"
                f" {figures['p99_ms']:>8.2f} {figures['errors']:>6}"
            )
        step["ratio"] = step["predict_one"]["rps"] / step["healthz"]["rps"]
        step["noop_ratio"] = step["predict_one"]["rps"] / step["noop"]["rps"]
        print(f"{'ratio':<12} {concurrency:>3} {step['ratio']:>9.2f}  (predict_one / healthz)")
        print(f"{'ratio':<12} {concurrency:>3} {step['noop_ratio']:>9.2f}  (predict_one / noop)")
        steps.append(step)
    return steps


def bulk_step(url: str, scorer: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The same rows in-process and over HTTP, best of three each."""
    columns = {n: [r[n] for r in rows] for n in rows[0]}
    local, bulk, chunked = [], [], []
    for _ in range(3):
        started = time.perf_counter()
        expected = scorer.score_columns(columns).probability
        local.append(time.perf_counter() - started)
    with httpx.Client(base_url=url, timeout=300) as client:
        for _ in range(3):
            answer, seconds = post_json(client, "/predict_columns", {"columns": columns})
            bulk.append(seconds)
        for _ in range(3):
            started = time.perf_counter()
            for start in range(0, len(rows), 10_000):
                post_json(client, "/predict", {"records": rows[start : start + 10_000]})
            chunked.append(time.perf_counter() - started)
    got = np.asarray(answer["probability"])
    b = {
        "rows": len(rows),
        "in_process_s": min(local),
        "http_columns_s": min(bulk),
        "http_predict_10x10k_s": min(chunked),
        "columns_vs_in_process": min(bulk) / min(local),
        "max_abs_diff": float(np.max(np.abs(got - expected))),
    }
    print(
        f"\n{b['rows']} rows: in-process {b['in_process_s']:.3f} s, HTTP /predict_columns "
        f"{b['http_columns_s']:.3f} s ({b['columns_vs_in_process']:.2f}x), HTTP 10 x /predict "
        f"{b['http_predict_10x10k_s']:.3f} s; max |diff| {b['max_abs_diff']:.1e}"
    )
    return b


def settle(pid: int, warm_mb: float) -> dict[str, Any]:
    """RSS right after the bulk step and every 5 s for 30 s, against the post-warm-up figure."""
    samples = [rss_mb(pid)]
    for _ in range(6):
        time.sleep(5)
        samples.append(rss_mb(pid))
    found = {"rss_mb": samples, "warm_mb": warm_mb, "ratio_to_warm": samples[-1] / warm_mb}
    print(
        f"RSS after the bulk step: {', '.join(f'{m:.0f}' for m in samples)} MB (every 5 s); "
        f"after 30 s {found['ratio_to_warm']:.2f}x the post-warm-up {warm_mb:.0f} MB"
    )
    return found


def _series(url: str) -> int:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def mixed_step(url: str, port: int, rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Concurrency 64 of valid and invalid requests; then a flood of random 404 paths."""
    tally = traffic.run_mixed(port, traffic.mixed_requests(rows, 1000), 64, seconds)
    before = _series(url)
    flood = traffic.run_mixed(port, traffic.random_404s(2000, seed=1), 16, 5)
    found = {**tally, "flood_requests": flood["requests"], "new_series": _series(url) - before}
    print(
        f"\nmixed load, c=64 for {seconds:.0f} s: {tally['requests']} requests, "
        f"{tally['2xx']} 2xx, {tally['4xx']} 4xx, {tally['5xx']} 5xx, "
        f"{tally['connection_errors']} connection errors, {tally['bad_error_shape']} 4xx not in "
        f"the error shape, {tally['valid_refused']} valid refused, {tally['invalid_accepted']} "
        f"invalid accepted; {flood['requests']} random 404 paths added "
        f"{found['new_series']} /metrics series"
    )
    return found


def soak_step(pid: int, port: int, rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """SECONDS of mixed traffic at concurrency 16; RSS at the start, after warm-up, at the end."""
    plan = traffic.mixed_requests(rows, 1000, seed=2)
    warm = min(60.0, seconds / 10)
    start = rss_mb(pid)
    first = traffic.run_mixed(port, plan, 16, warm)
    after_warm = rss_mb(pid)
    rest = traffic.run_mixed(port, plan, 16, seconds - warm)
    end = rss_mb(pid)
    found = {
        "seconds": seconds,
        "requests": first["requests"] + rest["requests"],
        "5xx": first["5xx"] + rest["5xx"],
        "connection_errors": first["connection_errors"] + rest["connection_errors"],
        "rss_mb": {"start": start, "after_warmup": after_warm, "end": end},
        "growth_after_warmup": end / after_warm - 1,
    }
    print(
        f"soak, c=16 for {seconds:.0f} s: {found['requests']} requests, {found['5xx']} 5xx, "
        f"{found['connection_errors']} connection errors; RSS {start:.0f} MB at the start, "
        f"{after_warm:.0f} MB after {warm:.0f} s of warm-up, {end:.0f} MB at the end "
        f"({found['growth_after_warmup']:+.1%})"
    )
    return found


def goals(results: dict[str, Any]) -> dict[str, bool]:
    if "load" not in results:  # --shadow-only
        return {}
    c8 = next(s for s in results["load"] if s["concurrency"] == 8)
    c32 = next(s for s in results["load"] if s["concurrency"] == 32)
    found = {
        "predict_one >= 0.7x healthz req/s at c=8": c8["ratio"] >= GOALS["ratio"],
        "predict_one >= 0.5x the no-op predict_one's req/s at c=8": c8["noop_ratio"]
        >= GOALS["noop_ratio"],
        "p99 at c=32 <= 3x the healthz p99": c32["predict_one"]["p99_ms"]
        <= GOALS["p99_c32_x"] * c32["healthz"]["p99_ms"],
        "100k over HTTP <= 3x in-process": results["bulk"]["columns_vs_in_process"]
        <= GOALS["bulk_x"],
        "start to ready <= 4 s": results["ready_s"] <= GOALS["ready_s"],
        "RSS settles to <= 1.5x post-warm-up within 30 s of the 100k step": results["settle"][
            "ratio_to_warm"
        ]
        <= 1.5,
    }
    if "mixed" in results:
        m = results["mixed"]
        found["load: 0 5xx, 0 connection errors, every 4xx in the error shape"] = (
            m["5xx"] == 0 and m["connection_errors"] == 0 and m["bad_error_shape"] == 0
        )
        found["load: random 404 paths add no /metrics series"] = m["new_series"] == 0
    if "soak" in results:
        found["soak: RSS growth after warm-up <= 10%"] = (
            results["soak"]["growth_after_warmup"] <= GOALS["soak_growth"]
        )
    return found


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per load step (default 20)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the bulk test")
    parser.add_argument("--root", default=".", help="project folder (the registry's champion)")
    parser.add_argument("--load-seconds", type=float, default=60.0, help="mixed load (default 60)")
    parser.add_argument("--soak-seconds", type=float, default=600.0, help="soak (default 600)")
    parser.add_argument(
        "--shadow-seconds", type=float, default=10.0, help="per shadow round (default 10; 0: skip)"
    )
    parser.add_argument(
        "--shadow-rounds", type=int, default=3, help="rounds of each mode (default 3; 0: skip)"
    )
    parser.add_argument(
        "--shadow-only", action="store_true", help="only the shadow on/off comparison"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    project = project_at(args.root)
    if args.shadow_only:
        return shadow_only(project, args)

    import bentoml

    from tabship.serving.cli import serve_env
    from tabship.serving.runtime.artifact import load_artifact
    from tabship.serving.runtime.modelstore import store_champion
    from tabship.serving.runtime.scorer import Scorer

    stored = store_champion(project)
    scorer = Scorer(load_artifact(Path(bentoml.models.get(stored.tag).path)))
    rows = holdout_rows(project, args.rows, [f.name for f in scorer.fields])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A prediction log of its own: the project's may be near its cap (log_max_bytes) after
    # earlier runs, and its 503s would be measured as the service's.
    log_folder = tempfile.TemporaryDirectory(prefix="tabship-bench-log-")
    env = {**serve_env(project), "TABSHIP_MODEL_TAG": stored.tag, NOOP_ENV: "1",
           LOG_ENV: log_folder.name}  # fmt: skip
    env.pop("TABSHIP_API_TOKEN", None)
    print(f"model {stored.tag} (v{stored.facts.model_version}); load average {os.getloadavg()}")
    server = start_server(env, port)
    results: dict[str, Any] = {"model": stored.tag, "loadavg_start": os.getloadavg()}
    try:
        results["ready_s"] = wait_ready(url, server)
        results["rss_mb_idle"] = rss_mb(server.pid)
        print(f"start to ready: {results['ready_s']:.2f} s; RSS {results['rss_mb_idle']:.0f} MB")
        results["load"] = load_steps(port, {"records": [rows[0]]}, args.seconds)
        results["rss_mb_loaded"] = rss_mb(server.pid)
        results["bulk"] = bulk_step(url, scorer, rows)
        results["settle"] = settle(server.pid, results["rss_mb_loaded"])
        if args.load_seconds > 0:
            results["mixed"] = mixed_step(url, port, rows, args.load_seconds)
        if args.soak_seconds > 0:
            results["soak"] = soak_step(server.pid, port, rows, args.soak_seconds)
        print(f"load average {os.getloadavg()}")
    finally:
        os.killpg(server.pid, 15)  # the server's own process group: its workers go with it
        server.wait(timeout=30)
        log_folder.cleanup()
    if shadow_wanted(args):
        results["shadow"] = shadow_step(project, stored.tag, {"records": [rows[0]]},
                                        args.shadow_seconds, args.shadow_rounds)  # fmt: skip
        print(f"load average {os.getloadavg()}")
    results["goals"] = goals(results)
    print("\n" + "\n".join(f"{'met ' if ok else 'MISS'} {n}" for n, ok in results["goals"].items()))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def shadow_wanted(args: argparse.Namespace) -> bool:
    """Whether the shadow step has anything to measure: its seconds and its rounds are above 0."""
    return bool(args.shadow_seconds > 0 and args.shadow_rounds > 0)


def shadow_only(project: Project, args: argparse.Namespace) -> int:
    """`--shadow-only`: the shadow comparison and the load average around it."""
    from tabship.serving.runtime.modelstore import store_champion

    if not shadow_wanted(args):
        print("bench_serve: --shadow-only with --shadow-seconds or --shadow-rounds at 0: "
              "nothing to do", file=sys.stderr)  # fmt: skip
        return 2

    stored = store_champion(project)
    [one] = holdout_rows(project, 1, [f.name for f in _fields(stored.tag)])
    before = os.getloadavg()
    print(f"model {stored.tag} (v{stored.facts.model_version}); load average {before}")
    results: dict[str, Any] = {"model": stored.tag, "loadavg_start": before}
    results["shadow"] = shadow_step(
        project, stored.tag, {"records": [one]}, args.shadow_seconds, args.shadow_rounds
    )
    results["loadavg_end"] = os.getloadavg()
    print(f"load average {results['loadavg_end']}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _fields(tag: str) -> list[Any]:
    import bentoml

    from tabship.serving.runtime.artifact import read_fields

    return read_fields(Path(bentoml.models.get(tag).path))


if __name__ == "__main__":
    sys.exit(main())
