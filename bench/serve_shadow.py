"""The serving benchmark's shadow step: what shadow mode costs `predict_one`, measured on two
servers side by side (shadow off and on), taking turns so that they share the machine's load."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import serve_traffic as traffic  # type: ignore[import-not-found]  # beside this script
from serve_load import free_port, load, start_server, wait_ready  # type: ignore[import-not-found]

from tabship.data import Project


def shadow_tag(project: Project) -> tuple[str, str]:
    """The model to shadow with, and which alias it is (see the module's docstring)."""
    from tabship.models import CHALLENGER, CHAMPION, PREVIOUS
    from tabship.serving.runtime.modelstore import store_alias

    for alias in (CHALLENGER, PREVIOUS, CHAMPION):
        stored = store_alias(project, None, alias)
        if stored is not None:
            return stored.tag, alias
    raise RuntimeError("the registry has no champion")


def shadow_step(
    project: Project, tag: str, one: dict[str, Any], seconds: float, rounds_each: int = 3
) -> dict[str, Any]:
    """predict_one at c=8, shadow off and on, side by side in one run: ROUNDS_EACH rounds each,
    taking turns, so that a round on and the round off beside it share the machine's load.
    ValueError, before any server starts, when SECONDS or ROUNDS_EACH is not above 0."""
    if seconds <= 0 or rounds_each <= 0:
        raise ValueError(f"the shadow step needs seconds > 0 and rounds > 0, not {seconds}, "
                         f"{rounds_each}: skip it instead (bench_serve.py does)")  # fmt: skip
    import tempfile

    import yaml

    from tabship.serving.cli import serve_env

    challenger, alias = shadow_tag(project)
    base = {**serve_env(project), "TABSHIP_MODEL_TAG": tag}
    base.pop("TABSHIP_API_TOKEN", None)
    settings: dict[str, Any] = {}
    if project.serving_config.is_file():
        settings = yaml.safe_load(project.serving_config.read_text(encoding="utf-8")) or {}
    request = traffic.http_request("POST", "/predict_one", json.dumps(one).encode())
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as scratch:
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for mode, shadow in (("off", False), ("on", True)):
                config = Path(scratch) / f"serving-{mode}.yaml"
                config.write_text(yaml.safe_dump({**settings, "shadow": shadow}), "utf-8")
                env = {**base, "TABSHIP_SERVING_CONFIG": str(config),
                       "TABSHIP_PREDICTION_LOG": str(Path(scratch) / mode)}  # fmt: skip
                if shadow:
                    env["TABSHIP_CHALLENGER_TAG"] = challenger
                port = free_port()
                servers[mode] = (start_server(env, port), port)
                wait_ready(f"http://127.0.0.1:{port}", servers[mode][0])
            for _, port in servers.values():
                load(port, request, 4, 2.0)  # warm-up
            rounds: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
            for _ in range(rounds_each):
                for mode, (_, port) in servers.items():
                    rounds[mode].append(load(port, request, 8, seconds))
        finally:
            for process, _ in servers.values():
                os.killpg(process.pid, 15)
                process.wait(timeout=30)
        logged = sum(
            len(path.read_bytes().splitlines())
            for path in (Path(scratch) / "on").glob("*/tabship_shadow/data/data.*.log*")
        )
    best = {mode: max(found, key=lambda f: f["rps"]) for mode, found in rounds.items()}
    # Each round on over the round off just before it: the load of other processes drifts less
    # within a pair than across the run, so the median of these is the steadier figure.
    paired = [on["rps"] / off["rps"] for off, on in zip(rounds["off"], rounds["on"], strict=True)]
    result = {"challenger": challenger, "alias": alias, "seconds": seconds, "rounds": rounds,
              "best": best, "shadow_lines": logged,
              "rps_ratio": best["on"]["rps"] / best["off"]["rps"],
              "paired_rps_ratio_median": float(np.median(paired))}  # fmt: skip
    print(f"\nshadow mode, predict_one at c=8 ({seconds:.0f} s x {rounds_each} rounds each, best "
          f"kept); challenger {challenger} (the registry's {alias})")  # fmt: skip
    print(f"{'shadow':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for mode, figures in best.items():
        print(f"{mode:<8} {figures['rps']:>9.0f} {figures['p50_ms']:>8.2f} "
              f"{figures['p99_ms']:>8.2f} {figures['errors']:>6.0f}")  # fmt: skip
    print(f"on/off req/s {result['rps_ratio']:.2f} (best rounds), "
          f"{result['paired_rps_ratio_median']:.2f} (median of paired rounds); "
          f"{logged} shadow lines written")  # fmt: skip
    return result
