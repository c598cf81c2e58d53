"""The serving benchmark's server and load: start `bentoml serve` on a free loopback port, wait
for /readyz, read the RSS of the server and its workers, and drive closed-loop load with a
minimal asyncio keep-alive client (serve_traffic.py reads the answers)."""

from __future__ import annotations

import asyncio
import gc
import socket
import subprocess
import time

import httpx
import numpy as np
import serve_traffic as traffic  # type: ignore[import-not-found]  # beside this script


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
    import psutil

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
            status, _ = await traffic.read_response(reader)
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

    # The client is Python too, with pandas and the service's packages loaded: a full collection
    # of that heap in the middle of a step stalled every connection for tens of ms, a p99 of the
    # client's and not the server's. Frozen, the collector walks only the step's own objects.
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    try:
        asyncio.run(run())
    finally:
        gc.unfreeze()
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "errors": len(errors),
    }


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`bentoml serve` for the service in its own process group (stop it with os.killpg)."""
    from tabship.serving.cli import serve_command

    return subprocess.Popen(
        serve_command("127.0.0.1", port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
