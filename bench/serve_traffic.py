"""Mixed traffic for the serving benchmark: valid and invalid requests on keep-alive connections.

A minimal asyncio HTTP/1.1 client (no wrk here; httpx's own overhead would cap the numbers). Each
connection cycles through a list of requests and checks every answer: a request marked valid
must get a 2xx, an invalid one a 4xx whose body has the one error shape.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Planned:
    """One request to send, and whether the service should accept it."""

    raw: bytes
    valid: bool
    kind: str


def http_request(
    method: str, path: str, body: bytes = b"", media: str = "application/json"
) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body or method == "POST":
        head += f"Content-Type: {media}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def post(path: str, document: Any) -> bytes:
    return http_request("POST", path, json.dumps(document).encode())


def mixed_requests(rows: list[dict[str, Any]], batch: int, seed: int = 0) -> list[Planned]:
    """Single rows, one BATCH-row /predict, and the invalid kinds a client gets wrong."""
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not a secret
    good = rows[0]
    wrong_type = {**good, next(iter(good)): "not a number"}
    unknown = {**good, "no_such_field": 1}
    planned = [Planned(post("/predict_one", {"records": [r]}), True, "one") for r in rows[:8]]
    planned += [
        Planned(post("/predict", {"records": rows[:batch]}), True, "batch"),
        Planned(post("/predict", {"records": [wrong_type]}), False, "wrong_type"),
        Planned(post("/predict", {"records": [unknown]}), False, "unknown_field"),
        Planned(post("/predict", {"records": []}), False, "empty"),
        Planned(http_request("POST", "/predict", b'{"records": ['), False, "bad_json"),
        Planned(http_request("POST", "/predict", b"a=1", "text/plain"), False, "media_type"),
        Planned(http_request("GET", "/predict"), False, "method"),
    ]
    planned += [
        Planned(http_request("GET", f"/no-such-{rng.getrandbits(48):x}"), False, "not_found")
        for _ in range(4)
    ]
    return planned


def random_404s(count: int, seed: int) -> list[Planned]:
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not a secret
    return [
        Planned(http_request("GET", f"/flood-{rng.getrandbits(64):x}"), False, "not_found")
        for _ in range(count)
    ]


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length: its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def _connection(
    port: int, plan: list[Planned], start: int, deadline: float, tally: Counter[str]
) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        tally["connection_errors"] += 1
        return
    index = start
    try:
        while time.perf_counter() < deadline:
            item = plan[index % len(plan)]
            index += 1
            writer.write(item.raw)
            status, body = await read_response(reader)
            tally["requests"] += 1
            tally[f"{status // 100}xx"] += 1
            if item.valid and status >= 300:
                tally["valid_refused"] += 1
            if not item.valid:
                if status < 400:
                    tally["invalid_accepted"] += 1
                elif status < 500 and not _error_shape(body):
                    tally["bad_error_shape"] += 1
    except (OSError, asyncio.IncompleteReadError):
        tally["connection_errors"] += 1
    finally:
        writer.close()


def _error_shape(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and {"error", "message", "details"} <= parsed.keys()


def run_mixed(port: int, plan: list[Planned], concurrency: int, seconds: float) -> dict[str, int]:
    """CONCURRENCY connections cycling through PLAN (each from its own offset) for SECONDS."""
    tally: Counter[str] = Counter()

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_connection(port, plan, i * 7, deadline, tally) for i in range(concurrency))
        )

    asyncio.run(run())
    keys = ("requests", "2xx", "4xx", "5xx", "connection_errors", "valid_refused")
    return {k: tally[k] for k in (*keys, "invalid_accepted", "bad_error_shape")}
