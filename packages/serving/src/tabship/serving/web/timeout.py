"""BentoML's per-request timeout, without the timer it leaves behind on every request.

BentoML 1.4's `TimeoutMiddleware` (the service's `traffic.timeout`) schedules
`loop.call_later(timeout, ...)` for each request and never cancels it, so every answered request
leaves a timer handle, its future, a context and a bound method alive in the event loop for the
whole timeout: 60 s at 1,000 requests/s is about 300,000 objects. The collector walked them all
on each full collection, which grew from 10 ms to 100 ms within a minute of load and set the p99
at concurrency 32 (`nox -s bench_serve`: 128 ms for `predict_one`). Here the timer is cancelled
when the request is done, and a cancelled timer drops its future at once (asyncio then prunes it
from its heap).

BentoML imports the class from `bentoml._internal.server.http.traffic` when it builds the app,
after the service module is imported, so replacing it there is enough (as boundedmetrics.py does
for the request metrics). It is an internal of BentoML 1.4, pinned in uv.lock; test_requesttimeout.py
fails if it stops working.
"""

from __future__ import annotations

import asyncio
from typing import Any


def cancel_request_timers() -> None:
    """Make BentoML's request timeout cancel its timer when the request is done. Idempotent."""
    from bentoml._internal.server.http import traffic

    original: Any = traffic.TimeoutMiddleware
    if getattr(original, "tabship_cancels", False):
        return

    class Cancelling(original):  # type: ignore[misc]
        tabship_cancels = True

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] not in ("http", "websocket"):
                await self.app(scope, receive, send)
                return
            loop = asyncio.get_running_loop()
            waiter = loop.create_future()
            timer = loop.call_later(self.timeout, self._set_timer_out, waiter)
            try:
                await self._answer(scope, receive, send, waiter)
            finally:
                timer.cancel()

        async def _answer(self, scope: Any, receive: Any, send: Any, waiter: Any) -> None:
            # BentoML's own logic, unchanged: a 504 when nothing was sent within the timeout.
            async def started(message: Any) -> None:
                if not waiter.done():
                    waiter.set_result(None)
                await send(message)

            task = asyncio.ensure_future(self.app(scope, receive, started))
            try:
                await waiter
            except TimeoutError:
                if task.cancel():
                    from starlette.responses import JSONResponse

                    message = f"Not able to process the request in {self.timeout} seconds"
                    await JSONResponse({"error": message}, status_code=504)(scope, receive, send)
            else:
                await task

    setattr(traffic, "TimeoutMiddleware", Cancelling)  # noqa: B010 - a class
