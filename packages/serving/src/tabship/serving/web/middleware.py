"""The ASGI middleware in front of the prediction endpoints.

It does what BentoML leaves open: bearer-token auth (when TABSHIP_API_TOKEN is set), a request-size
limit (BentoML has none: a million rows once left a worker at 755 MB), a limit on the bytes of
requests in flight (503 with Retry-After past it), JSON-only bodies, one error
body shape for every error response (see errors.py), with one structured log line per client
error instead of BentoML's traceback, the Allow header of a 405 kept, /docs.json rewritten into
a valid OpenAPI 3.1 document (openapi.py), and a failure after a whole answer (a background task)
logged in one line instead of raised to uvicorn, which would close the keep-alive connection.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from tabship.serving.errors import ErrorBody, capped, normalise
from tabship.serving.settings import secret

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "TABSHIP_API_TOKEN"  # noqa: S105  (the variable's name, not a secret)
log = logging.getLogger("tabship.serving.requests")
AMBIGUOUS = "a request with both Content-Length and Transfer-Encoding is refused"


def _ambiguous_length(scope: Scope) -> bool:
    """Whether the request names both a Content-Length and a Transfer-Encoding."""
    names = {name.lower() for name, _ in scope.get("headers", ())}
    return b"content-length" in names and b"transfer-encoding" in names


class GuardMiddleware:
    """Auth, size limit and content type for PROTECTED paths; error bodies for every path."""

    def __init__(
        self,
        app: ASGIApp,
        protected: tuple[str, ...],
        max_bytes: int,
        openapi: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        max_bytes_in_flight: int | None = None,
    ) -> None:
        self.app = app
        self.protected = protected
        self.max_bytes = max_bytes
        # Admission control: request bodies being read, parsed and scored at once, in bytes. A
        # request that would pass it gets a 503 with Retry-After before its body is read, so a
        # worker's memory stays bounded whatever the clients send at once (six 200,000-row
        # requests took one past 2.7 GB). The worker's event loop is one thread: no lock.
        self.max_in_flight = max_bytes_in_flight or 2 * max_bytes
        self.in_flight = 0
        # Read once at start: a token change needs a restart, like any other configuration.
        self.token = secret(TOKEN_ENV)  # the variable, or the file TABSHIP_API_TOKEN_FILE names
        self.openapi = openapi
        self.docs: bytes | None = None  # the rewritten document, made on the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def sending(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        try:
            await self._dispatch(scope, receive, sending)
        except Exception as error:
            if not answered:
                raise
            # The answer left whole, and the work after it (a background task) failed. Raised
            # on, uvicorn would close the keep-alive connection, and the client's next request,
            # perhaps already sent on it, would get no answer (issue 28, point 14).
            _after_answer(scope, error)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _ambiguous_length(scope):
            # h11 (uvicorn's parser here) reads such a body as chunked and parses what follows
            # as the next request: behind a proxy that reads Content-Length, a request smuggled
            # in the body. RFC 9112 (6.1) lets a server refuse it; it must close the connection.
            ambiguous = ErrorBody(400, "bad_request", AMBIGUOUS)
            await _send_error(send, ambiguous, scope, [(b"connection", b"close")])
            _log(scope, ambiguous, time.perf_counter())
            return
        if scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        started = time.perf_counter()
        if path == "/docs.json" and self.openapi is not None and scope["method"] == "GET":
            if self.docs is None:
                status, body = await _capture(self.app, scope, receive)
                if status != HTTPStatus.OK:
                    await _send_error(send, normalise(status, body), scope)
                    return
                self.docs = json.dumps(self.openapi(json.loads(body))).encode()
            await _send_body(send, 200, self.docs, [])
            return
        if path in self.protected:
            _new_request_id()
            refusal = self._refuse(scope)
            reserved = 0
            if refusal is None:
                reserved = self._reserve(scope)
                if not reserved:
                    busy = ErrorBody(503, "overloaded", "too many large requests at once: retry")
                    await _send_error(send, busy, scope, [(b"retry-after", b"1")])
                    _log(scope, busy, started)
                    return
            try:
                await self._guarded(scope, receive, send, refusal, started)
            finally:
                self.in_flight -= reserved
            return
        await self.app(scope, receive, _rewrite_errors(send, scope, started))

    def _reserve(self, scope: Scope) -> int:
        """The bytes this request may hold (its Content-Length, else the size limit), reserved;
        0 when that would pass the limit on bytes in flight (a request alone always fits)."""
        length = request_headers(scope).get("content-length", "")
        size = max(int(length) if length.isdigit() else self.max_bytes, 1)
        if self.in_flight and self.in_flight + size > self.max_in_flight:
            return 0
        self.in_flight += size
        return size

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, refusal: ErrorBody | None, started: float
    ) -> None:
        """A protected path's request: its body read within the limit, then the app."""
        if refusal is None:
            body, too_big = await _read_body(receive, self.max_bytes)
            if too_big:
                limit = self.max_bytes
                refusal = ErrorBody(413, "payload_too_large", f"the body exceeds {limit} bytes")
            else:
                receive = _replay(body)
        if refusal is not None:
            await _send_error(send, refusal, scope)
            _log(scope, refusal, started)
            return
        await self.app(scope, receive, _rewrite_errors(send, scope, started))

    def _refuse(self, scope: Scope) -> ErrorBody | None:
        headers = request_headers(scope)
        if self.token is not None and not bearer_matches(headers, self.token):
            return ErrorBody(401, "unauthorized", "a valid bearer token is required")
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return ErrorBody(413, "payload_too_large", f"the body exceeds {self.max_bytes} bytes")
        media = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if scope["method"] == "POST" and media != "application/json":
            return ErrorBody(415, "unsupported_media_type", "send the body as application/json")
        return None


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def bearer_matches(headers: dict[str, str], token: str) -> bool:
    """Whether HEADERS (see request_headers) carry `Bearer TOKEN`, compared in constant time."""
    given = headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _new_request_id() -> None:
    """A request id for the prediction log's rows of this request.

    BentoML takes it from the OpenTelemetry span, and tracing is off by default (settings.py), so
    set one here, in the context BentoML's monitor reads (a 63-bit integer, like a span id).
    """
    from bentoml._internal.context import trace_context

    # Python's generator, not the OS's: unique is all it must be (see scorer.py's ids).
    trace_context.request_id = random.getrandbits(63)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or (partial, True) once it passes LIMIT (chunked bodies have no length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, bytes]:
    """Run APP for one request and collect its answer instead of sending it."""
    status = 500
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return status, b"".join(chunks)


async def _send_body(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_error(
    send: Send, error: ErrorBody, scope: Scope, kept: list[tuple[bytes, bytes]] | None = None
) -> None:
    extra = list(kept or [])
    if error.status == HTTPStatus.UNAUTHORIZED:
        extra.append((b"www-authenticate", b"Bearer"))
    await _send_body(send, error.status, error.to_bytes(), extra)


def _rewrite_errors(send: Send, scope: Scope, started: float) -> Send:
    """A send that buffers an error response and sends it again in our shape."""
    status = 0
    chunks: list[bytes] = []
    kept: list[tuple[bytes, bytes]] = []

    async def wrapped(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            if status < 400:
                await send(message)
            # Starlette's 405 says which methods the path has: keep that.
            kept.extend((k, v) for k, v in message.get("headers", []) if k.lower() == b"allow")
            return
        if message["type"] != "http.response.body" or status < 400:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        error = normalise(status, b"".join(chunks))
        if error.status == 503:  # the app's: its queue is full, or the prediction log
            kept.append((b"retry-after", b"5"))
        await _send_error(send, error, scope, kept)
        _log(scope, error, started)

    return wrapped


def _after_answer(scope: Scope, error: Exception) -> None:
    """One line for a failure after a whole answer: what failed, and where."""
    where = traceback.extract_tb(error.__traceback__)[-1]
    log.error(
        "work after the answer failed",
        extra={
            "event": "after_answer_failed",
            "path": capped(scope["path"]),
            "method": scope["method"],
            "error": capped(f"{type(error).__name__}: {error}"),
            "at": f"{Path(where.filename).name}:{where.lineno}",
        },
    )


def _log(scope: Scope, error: ErrorBody, started: float) -> None:
    """One structured line per error response; no traceback for a client's mistake."""
    level = logging.ERROR if error.status >= 500 else logging.WARNING
    log.log(
        level,
        "request refused",
        extra={
            "event": "client_error" if error.status < 500 else "server_error",
            "path": capped(scope["path"]),
            "method": scope["method"],
            "status": error.status,
            "error": error.error,
            "details": [
                {"record": d.record, "field": d.field, "type": d.type} for d in error.details[:20]
            ],
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
