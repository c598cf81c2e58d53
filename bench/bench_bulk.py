"""Concurrent bulk requests against the worker's memory (issue 28, point 4): `nox -s bench -- bulk`.

Six clients post a 200,000-row `/predict_columns` at once to a fresh service, twice in one run:
with admission control as configured (`max_bytes_in_flight`, 64 MiB by default: two such
requests at once, a 503 with Retry-After for the rest), and with it effectively off (1 TiB).
For each it prints the peak RSS of the server and its workers (sampled every 50 ms), the answers
by status, and the seconds; the Deployment's memory limit is 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from bench_serve import holdout_rows  # type: ignore[import-not-found]  # beside this script
from serve_load import free_port, rss_mb, start_server, wait_ready  # type: ignore[import-not-found]

from tabship.data import project_at

LIMIT_MB = 2048  # deploy/k8s/deployment.yaml: resources.limits.memory 2Gi


def one_round(env: dict[str, str], body: bytes, clients: int) -> dict[str, Any]:
    """Start a server with ENV, post BODY from CLIENTS threads at once; peak RSS and answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        wait_ready(url, server)
        idle = rss_mb(server.pid)
        peak, done = idle, threading.Event()
        statuses: list[int | str] = []

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_mb(server.pid))
                time.sleep(0.05)

        def post() -> None:
            try:
                answer = httpx.post(f"{url}/predict_columns", content=body, timeout=300,
                                    headers={"Content-Type": "application/json"})  # fmt: skip
                statuses.append(answer.status_code)
            except httpx.HTTPError as error:
                statuses.append(type(error).__name__)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        posts = [threading.Thread(target=post) for _ in range(clients)]
        for thread in posts:
            thread.start()
        for thread in posts:
            thread.join()
        seconds = time.perf_counter() - started
        time.sleep(1)  # the log and the collector finish
        done.set()
        sampler.join()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)}
    return {"rss_mb_idle": round(idle), "rss_mb_peak": round(peak), "answers": counts,
            "seconds": round(seconds, 1)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", default=".", help="the project (default: here)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows per request")
    parser.add_argument("--clients", type=int, default=6, help="requests at once")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    import bentoml

    from tabship.serving.cli import serve_env
    from tabship.serving.runtime.artifact import load_artifact
    from tabship.serving.runtime.modelstore import store_champion

    project = project_at(args.root)
    stored = store_champion(project)
    fields = [f.name for f in load_artifact(Path(bentoml.models.get(stored.tag).path)).fields]
    rows = holdout_rows(project, args.rows, fields)
    body = json.dumps({"columns": {f: [r[f] for r in rows] for f in fields}}).encode()
    base = {**serve_env(project), "TABSHIP_MODEL_TAG": stored.tag}
    base.pop("TABSHIP_API_TOKEN", None)
    results: dict[str, Any] = {"body_mb": round(len(body) / 2**20, 1),
                               "loadavg_start": os.getloadavg()}  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        for name, limit in (("admission", None), ("no admission", 2**40)):
            env = {**base, "TABSHIP_PREDICTION_LOG": str(Path(scratch) / name)}
            if limit is not None:
                config = Path(scratch) / f"{name}.yaml"
                config.write_text(f"max_bytes_in_flight: {limit}\n", encoding="utf-8")
                env["TABSHIP_SERVING_CONFIG"] = str(config)
            results[name] = one_round(env, body, args.clients)
            print(f"{name}: {results[name]}", flush=True)
    results["loadavg_end"] = os.getloadavg()
    kept = results["admission"]["rss_mb_peak"] <= LIMIT_MB
    print(f"{args.clients} x {args.rows:,} rows ({results['body_mb']} MB each): peak RSS "
          f"{results['admission']['rss_mb_peak']} MB with admission control, "
          f"{results['no admission']['rss_mb_peak']} MB without; under {LIMIT_MB} MB: {kept}; "
          f"load average {results['loadavg_start']} -> {results['loadavg_end']}")  # fmt: skip
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
