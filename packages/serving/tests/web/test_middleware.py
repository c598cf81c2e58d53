"""Auth, the size limit and the content type, checked on a stub app (no server needed)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tabship.serving.web.middleware import GuardMiddleware


async def stub(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def call(app: GuardMiddleware, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_token_guards_prediction_paths_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABSHIP_API_TOKEN", "s3cret")
    app = GuardMiddleware(stub, protected=("/predict",), max_bytes=100)
    refused = call(app, "POST", "/predict", json={})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"] == "unauthorized"
    wrong = call(app, "POST", "/predict", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = call(app, "POST", "/predict", json={}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert call(app, "GET", "/healthz").status_code == 200


def test_size_limit_and_media_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABSHIP_API_TOKEN", raising=False)
    app = GuardMiddleware(stub, protected=("/predict",), max_bytes=100)
    big = call(
        app, "POST", "/predict", content=b"x" * 101, headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    assert big.json()["error"] == "payload_too_large"

    async def chunks() -> Any:
        yield b"x" * 60
        yield b"x" * 60

    chunked = call(
        app, "POST", "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    text = call(app, "POST", "/predict", content=b"a,b", headers={"content-type": "text/csv"})
    assert text.status_code == 415
    assert (
        call(
            app,
            "POST",
            "/predict",
            content=b'{"a": 1}',
            headers={"content-type": "application/json"},
        ).text
        == "8"
    )


def test_bytes_in_flight_past_the_limit_get_a_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 28, point 4: concurrent bulk requests took a worker past its memory limit."""
    monkeypatch.delenv("TABSHIP_API_TOKEN", raising=False)
    gate = asyncio.Event()

    async def slow(scope: Any, receive: Any, send: Any) -> None:
        await gate.wait()  # scoring, while others arrive
        await stub(scope, receive, send)

    app = GuardMiddleware(slow, protected=("/predict",), max_bytes=100, max_bytes_in_flight=150)

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        json_type = {"Content-Type": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            def post(size: int) -> Any:
                return client.post("/predict", content=b"x" * size, headers=json_type)

            first = asyncio.create_task(post(80))
            await asyncio.sleep(0.05)  # the first holds 80 of 150 bytes
            refused = await post(80)  # 80 more would pass 150
            small = asyncio.create_task(post(60))  # 60 more fits
            await asyncio.sleep(0.05)
            gate.set()
            done = [await first, refused, await small]
            done.append(await post(80))  # all released: admitted
            return done

    first, refused, small, after = asyncio.run(go())
    assert first.status_code == small.status_code == after.status_code == 200
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "overloaded"
    assert app.in_flight == 0


@contextlib.contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """APP under a real uvicorn server (the one BentoML's workers run) on a free loopback port,
    in a thread of this process; its URL."""
    import uvicorn

    listening = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listening.close()


def test_work_that_fails_after_a_whole_answer_keeps_the_connection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 28, point 14: uvicorn closes a keep-alive connection when the app raises after its
    answer (work done after it, as a background task), and the client's next request, already
    sent on it, got `Server disconnected without sending a response`. The guard logs the failure
    in one line and keeps the connection."""
    monkeypatch.delenv("TABSHIP_API_TOKEN", raising=False)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/slow":  # the next request, still being answered...
            await asyncio.sleep(0.6)
        await stub(scope, receive, send)
        if scope["path"] == "/predict":  # ...when the work after this answer fails
            await asyncio.sleep(0.2)
            raise RuntimeError("the log writer failed")

    guarded = GuardMiddleware(app, protected=("/predict",), max_bytes=100)
    with uvicorn_serving(guarded) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.post("/predict", json={"a": 1}).text == "7"  # {"a":1}
        assert client.get("/slow").status_code == 200  # the same connection
        assert client.get("/slow").status_code == 200
    [line] = [r for r in caplog.records if getattr(r, "event", "") == "after_answer_failed"]
    assert line.levelname == "ERROR" and line.path == "/predict"  # type: ignore[attr-defined]
    assert line.error == "RuntimeError: the log writer failed"  # type: ignore[attr-defined]
