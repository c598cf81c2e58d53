"""`notify_reload`, against a small HTTP server on loopback that records what it is sent."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tabship.models.registry.notify import NotifyError, notify_reload, reload_url


class _Service(BaseHTTPRequestHandler):
    """Answers POST /admin/reload as the service does: 200 for the token, else 401."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.seen.append(
            {"path": self.path, "auth": self.headers.get("authorization"),
             "type": self.headers.get("content-type"), "body": self.rfile.read(length)}
        )  # fmt: skip
        if self.path == "/broken":
            status, body = 200, b"not json"
        elif self.headers.get("authorization") == "Bearer s3cret":
            status, body = 200, json.dumps({"status": "reloaded", "model_version": "4"}).encode()
        else:
            refusal = {"error": "unauthorized", "message": "a valid token", "details": []}
            status, body = 401, json.dumps(refusal).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Service.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_url_may_be_the_service_or_its_reload_endpoint() -> None:
    assert reload_url("http://h:3000") == "http://h:3000/admin/reload"
    assert reload_url("http://h:3000/") == "http://h:3000/admin/reload"
    assert reload_url("https://h/x/admin/reload") == "https://h/x/admin/reload"
    for bad in ("ftp://h/", "h:3000", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="http"):
            reload_url(bad)


def test_a_reload_is_posted_with_the_bearer_token(service: str) -> None:
    assert notify_reload(service, "s3cret") == {"status": "reloaded", "model_version": "4"}
    [request] = _Service.seen
    assert request == {
        "path": "/admin/reload", "auth": "Bearer s3cret", "type": "application/json",
        "body": b"{}",
    }  # fmt: skip


def test_every_failure_is_one_notify_error(service: str) -> None:
    with pytest.raises(NotifyError, match="answered 401: a valid token"):
        notify_reload(service, "wrong")
    with pytest.raises(NotifyError, match="answered 401"):
        notify_reload(service, None)
    assert _Service.seen[-1]["auth"] is None
    with pytest.raises(NotifyError, match="not JSON"):
        notify_reload(f"{service}/broken", "s3cret")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(NotifyError, match="no answer"):
        notify_reload(f"http://127.0.0.1:{closed}", "s3cret", timeout=5)
