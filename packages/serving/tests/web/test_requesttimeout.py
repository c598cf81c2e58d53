"""BentoML's request timeout, patched to cancel its timer: no timer outlives its request, and a
slow request still gets BentoML's 504."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from tabship.serving.web.timeout import cancel_request_timers


async def _fast(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _slow(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.sleep(5)
    await _fast(scope, receive, send)


async def _serve(middleware: Any, requests: int) -> tuple[list[int], int]:
    """REQUESTS through MIDDLEWARE; the statuses sent, and the timers still pending after."""
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    for _ in range(requests):
        await middleware({"type": "http", "path": "/"}, receive, send)
    await asyncio.sleep(0)  # a cancelled request's task unwinds on the next turn of the loop
    pending = [
        o for o in gc.get_objects() if isinstance(o, asyncio.TimerHandle) and not o.cancelled()
    ]
    return statuses, len(pending)


def _middleware(app: Any, timeout: float) -> Any:
    from bentoml._internal.server.http import traffic

    return traffic.TimeoutMiddleware(app, timeout=timeout)


def test_bentoml_leaves_a_timer_per_request_and_the_patch_cancels_it() -> None:
    from bentoml._internal.server.http import traffic

    found = traffic.TimeoutMiddleware  # BentoML's, or ours over it if the service was imported
    unpatched = found.__mro__[1] if getattr(found, "tabship_cancels", False) else found
    statuses, pending = asyncio.run(_serve(unpatched(_fast, timeout=60), 200))
    # The cause, in the pinned BentoML: each answered request left its 60 s timer behind. (If
    # this fails, BentoML cancels its timers itself and requesttimeout.py can go.)
    assert statuses == [200] * 200 and pending >= 200

    cancel_request_timers()
    cancel_request_timers()  # idempotent
    assert getattr(traffic.TimeoutMiddleware, "tabship_cancels", False)
    statuses, pending = asyncio.run(_serve(_middleware(_fast, 60), 200))
    assert statuses == [200] * 200 and pending == 0


def test_a_slow_request_still_gets_the_504() -> None:
    cancel_request_timers()
    statuses, pending = asyncio.run(_serve(_middleware(_slow, 0.05), 1))
    assert statuses == [504] and pending == 0
