"""Checks: start a built image on loopback and talk to it (/readyz, one prediction, HEALTHCHECK)."""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from tabship_dev.images.build import image_name
from tabship_dev.images.engine import Engine, Podman, choose_engine
from tabship_dev.images.settings import (
    SERVING_PORT,
    ImageError,
    log,
    timed,
)
from tabship_dev.workspace import ROOT


def free_port(prefer: int = SERVING_PORT) -> int:
    """PREFER on the loopback interface when it is free (by default the image's own port, which
    a HEALTHCHECK without $TABSHIP_PORT probes), otherwise any free port (PREFER=0: any)."""
    for wanted in (prefer, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            port: int = probe.getsockname()[1]
            return port
    raise ImageError("no free port on 127.0.0.1")


def http(
    url: str, body: Any = None, timeout: float = 5, token: str | None = None
) -> tuple[int, Any]:
    """GET (or POST JSON) URL, with TOKEN as a bearer token when given; the status and the body,
    decoded when it is JSON (/readyz and /livez answer plain text)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    headers |= {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            text = answer.read().decode()
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def served_example(base: str) -> dict[str, Any]:
    """The example request the service documents for /predict in its own OpenAPI document."""
    status, document = http(f"{base}/docs.json", timeout=10)
    if status != 200 or not isinstance(document, dict):
        raise ImageError(f"/docs.json answered {status}")
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    example: dict[str, Any] = body["example"]
    return example


def wait_ready(
    engine: Engine, process: subprocess.Popen[str], base: str, timeout: float, poll: float = 0.5
) -> None:
    """Until BASE/readyz answers 200; ImageError when the service exits first (with its last
    lines under podman) or TIMEOUT seconds pass."""
    start, status = time.monotonic(), None
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            said = engine.tail(3) if isinstance(engine, Podman) else ""
            raise ImageError(f"the service exited with code {process.returncode}"
                             + (f"; its last lines: {said}" if said else ""))  # fmt: skip
        with contextlib.suppress(OSError):
            status, _ = http(f"{base}/readyz", timeout=2)
            if status == 200:
                return
        time.sleep(poll)
    raise ImageError(f"/readyz did not answer 200 within {timeout:.0f} s (last: {status})")


def check_serving(engine: Engine, name: str, port: int, timeout: float) -> dict[str, Any]:
    """Start the serving image; wait for /readyz; score one record; run the HEALTHCHECK's probe."""
    config = engine.config(name)
    entrypoint = list(config.get("Entrypoint") or [])
    command = [*entrypoint, "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"image": name, "user": config.get("User"), "port": port}
    start = time.monotonic()
    with engine.started(name, command, port) as process:
        wait_ready(engine, process, base, timeout)
        result["ready_seconds"] = round(time.monotonic() - start, 1)
        for probe in ("livez", "healthz"):
            result[probe] = http(f"{base}/{probe}")[0]
        status, answer = http(f"{base}/predict", served_example(base), timeout=30)
        if status != 200:
            raise ImageError(f"/predict answered {status}: {answer}")
        prediction = answer["predictions"][0]
        if not 0 <= prediction["probability"] <= 1:
            raise ImageError(f"/predict gave a probability out of range: {prediction}")
        result["prediction"] = prediction
        log(f"ready after {result['ready_seconds']} s; /predict: {prediction}")
        result["healthcheck"] = (
            run_healthcheck(engine, name, config)
            if port == SERVING_PORT or isinstance(engine, Podman)  # podman sets $TABSHIP_PORT
            else f"not run: it probes port {SERVING_PORT}, which was busy"
        )
    return result


def run_healthcheck(engine: Engine, name: str, config: dict[str, Any]) -> str:
    """Run the image's HEALTHCHECK against the running service (podman: in its container; buildah:
    in a new one on the same network)."""
    test = list((config.get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return "none"
    if isinstance(engine, Podman):
        return engine.healthcheck()  # in the running container, as podman's timer would
    if engine.runs_healthcheck():
        return f"run by {engine.name}"  # it reports the result in its own inspect output
    command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
    engine.run_once(name, command)  # raises when the probe fails
    return "passed"


def cmd_check(args: argparse.Namespace) -> dict[str, Any]:
    """Start an image and prove it works: serving answers, training trains, CI has its tools."""
    engine = choose_engine(args.tool)
    name = args.image or image_name(args.target, args.tag)
    if not engine.exists(name):
        raise ImageError(
            f"no image {name}: run `python docker/image.py build --target {args.target}`"
        )
    timings: dict[str, float] = {}
    with timed(f"check {args.target}", timings):
        if args.target == "serving":
            result = check_serving(engine, name, args.port or free_port(), args.timeout)
        elif args.target == "training":
            # The image holds no data: the raw files are mounted read-only, as a job mounts them.
            raw = (ROOT / "data" / "raw", "/work/data/raw")
            text = engine.run_once(name, ["tabship-models", "train", "--json"], mount=raw)
            run_ = json.loads(text[text.index("{") :])
            keep = ("status", "model_name", "model_version", "gate_passed", "holdout")
            result = {"image": name, "train": {k: run_.get(k) for k in keep}}
        else:
            # The repository, mounted read-only: nox must list its sessions with these tools.
            probe = ("id -u; python --version; git --version; uv --version; nox --version 2>&1; "
                     "invoke --version; nox --noxfile /src/noxfile.py --list 2>&1 | tail -n 3")  # fmt: skip
            text = engine.run_once(name, ["sh", "-c", probe], mount=(ROOT, "/src"))
            result = {"image": name, "output": text.splitlines()}
    result["seconds"] = timings
    return result
