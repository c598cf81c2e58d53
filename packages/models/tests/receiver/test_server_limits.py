"""The receiver's HTTP limits (issue 28, point 8): a deeply nested body gets a 400, a silent
client is closed after the read timeout, and connections past the cap get a 503 at once."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tabship.models.receiver import server as srv
from tabship.models.receiver.config import receiver_config_from_dict
from tabship.models.receiver.dispatch import make_dispatcher
from tabship.models.receiver.server import Receiver, make_server

TOKEN = "limits-token"


@pytest.fixture
def address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(srv, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(srv._Handler, "timeout", 0.5)
    monkeypatch.setattr(srv, "MAX_CONNECTIONS", 4)
    raw = {"auth": {"bearer_token": {"env": "T"}}, "mode": "local",
           "local": {"command": ["true"], "cwd": str(tmp_path), "log": str(tmp_path / "log")}}  # fmt: skip
    config = receiver_config_from_dict(raw, "test", tmp_path, {"T": TOKEN})
    receiver = Receiver(config, {"tabship-adult": "adult"}, make_dispatcher(config))
    server = make_server(receiver, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "127.0.0.1", int(server.server_address[1])
    server.shutdown()
    server.server_close()
    receiver.queue.stop()


def _post(address: tuple[str, int], body: bytes) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://{address[0]}:{address[1]}/alerts", data=body, method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def test_a_body_nested_100_000_deep_is_a_400_not_a_dropped_connection(
    address: tuple[str, int],
) -> None:
    status, document = _post(address, b"[" * 100_000 + b"]" * 100_000)
    assert status == 400
    assert "nested too deeply" in str(document["error"])
    assert _post(address, b"{}")[0] == 400  # and the server still answers


def test_a_client_that_sends_nothing_is_closed_after_the_read_timeout(
    address: tuple[str, int],
) -> None:
    with socket.create_connection(address, timeout=10) as silent:
        started = time.monotonic()
        silent.sendall(b"POST /alerts HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        assert silent.recv(1024) == b""  # closed by the server, with nothing owed
        assert time.monotonic() - started < 5


def test_connections_past_the_cap_get_a_503_at_once(address: tuple[str, int]) -> None:
    idle = [socket.create_connection(address, timeout=10) for _ in range(4)]
    try:
        time.sleep(0.1)  # the four hold every slot (each waits for its request line)
        with socket.create_connection(address, timeout=10) as extra:
            answer = extra.recv(1024)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"too many connections open" in answer
    finally:
        for connection in idle:
            connection.close()
    time.sleep(0.7)  # the read timeout frees the slots
    assert _post(address, b"{}")[0] == 400
