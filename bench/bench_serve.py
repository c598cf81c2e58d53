"""Serving benchmark: `nox -s bench_serve` (or `python bench/bench_serve.py [--seconds N]`).

Starts `tabship-serving serve` on a free loopback port and measures, in one run:
- time from launch to /readyz answering 200, and the server's RSS (all its processes);
- closed-loop load at concurrency 1, 8 and 32 against predict_one and /healthz, each for
  --seconds (default 20): req/s, p50, p99, and the predict/healthz throughput ratio;
- 100,000 rows scored over HTTP (/predict_columns, and 10 x /predict of 10,000) against
  in-process scoring of the same rows.

The load client is a minimal asyncio HTTP/1.1 keep-alive client (no wrk on this machine, and
httpx's own overhead would cap the numbers); it shares the 2 cores with the server, so the
figures are a floor. The load average is printed: compare runs made on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tabship.data import Project, project_at

GOALS = {"ratio": 0.7, "p99_c8_ms": 25.0, "bulk_x": 3.0, "ready_s": 4.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> float:
    """Seconds from now until /readyz answers 200 (call right after launching)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError("server not ready")


def rss_mb(pid: int) -> float:
    """Resident memory of the server and all its child processes."""
    import psutil  # type: ignore[import-untyped]

    parent = psutil.Process(pid)
    total = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
    return float(total) / 2**20


async def _one_connection(
    port: int, request: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def load(port: int, request: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    """Closed-loop load: CONCURRENCY keep-alive connections sending REQUEST for SECONDS."""
    latencies: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _one_connection(port, request, deadline, latencies, errors)
                for _ in range(concurrency)
            )
        )

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "errors": len(errors),
    }


def http_request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


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

    frame = load_version(project, load_run_config(project).data).holdout[fields]
    frame = frame.sample(n=n, replace=len(frame) < n, random_state=0).reset_index(drop=True)
    objects = frame.astype(object).where(frame.notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
        for r in objects.to_dict(orient="records")
    ]


def load_steps(port: int, one: dict[str, Any], seconds: float) -> list[dict[str, Any]]:
    """predict_one and /healthz at each concurrency, side by side."""
    targets = {
        "predict_one": http_request("POST", "/predict_one", json.dumps(one).encode()),
        "healthz": http_request("GET", "/healthz"),
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
        print(f"{'ratio':<12} {concurrency:>3} {step['ratio']:>9.2f}  (predict_one / healthz)")
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


def goals(results: dict[str, Any]) -> dict[str, bool]:
    c8 = next(s for s in results["load"] if s["concurrency"] == 8)
    return {
        "ratio >= 0.7 at every concurrency": all(
            s["ratio"] >= GOALS["ratio"] for s in results["load"]
        ),
        "p99 at c=8 <= 25 ms": c8["predict_one"]["p99_ms"] <= GOALS["p99_c8_ms"],
        "100k over HTTP <= 3x in-process": results["bulk"]["columns_vs_in_process"]
        <= GOALS["bulk_x"],
        "start to ready <= 4 s": results["ready_s"] <= GOALS["ready_s"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per load step (default 20)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the bulk test")
    parser.add_argument("--root", default=".", help="project folder (the registry's champion)")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    project = project_at(args.root)

    import bentoml

    from tabship.serving.artifact import load_artifact
    from tabship.serving.cli import serve_command, serve_env
    from tabship.serving.modelstore import store_champion
    from tabship.serving.scorer import Scorer

    stored = store_champion(project)
    scorer = Scorer(load_artifact(Path(bentoml.models.get(stored.tag).path)))
    rows = holdout_rows(project, args.rows, [f.name for f in scorer.fields])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**serve_env(project), "TABSHIP_MODEL_TAG": stored.tag}
    env.pop("TABSHIP_API_TOKEN", None)
    print(f"model {stored.tag} (v{stored.facts.model_version}); load average {os.getloadavg()}")
    server = subprocess.Popen(
        serve_command("127.0.0.1", port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results: dict[str, Any] = {"model": stored.tag, "loadavg_start": os.getloadavg()}
    try:
        results["ready_s"] = wait_ready(url, server)
        results["rss_mb_idle"] = rss_mb(server.pid)
        print(f"start to ready: {results['ready_s']:.2f} s; RSS {results['rss_mb_idle']:.0f} MB")
        results["load"] = load_steps(port, {"records": [rows[0]]}, args.seconds)
        results["rss_mb_loaded"] = rss_mb(server.pid)
        results["bulk"] = bulk_step(url, scorer, rows)
        results["rss_mb_after_bulk"] = rss_mb(server.pid)
        print(
            f"RSS after load {results['rss_mb_loaded']:.0f} MB, after bulk "
            f"{results['rss_mb_after_bulk']:.0f} MB; load average {os.getloadavg()}"
        )
    finally:
        os.killpg(server.pid, 15)  # the server's own process group: its workers go with it
        server.wait(timeout=30)
    results["goals"] = goals(results)
    print("\n" + "\n".join(f"{'met ' if ok else 'MISS'} {n}" for n, ok in results["goals"].items()))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
