"""The retraining trigger: an HTTP endpoint for Alertmanager's webhook (`tabship-models receive`).

A POST to the configured path is authenticated (bearer token or HMAC signature, else 401), parsed
(else 400), mapped to one retrain request per dataset (an unknown alert: 422, or ignored by
config), deduplicated by its alert group's key and fingerprints, and queued for the worker
thread. The answer comes before any dispatch starts. `GET /healthz` answers 200 without auth.

Bounded whatever a client does: a body over 1 MiB is a 413 unread, one nested too deeply a 400, a
client that stops sending is closed after READ_TIMEOUT, and past MAX_CONNECTIONS open at once a
new connection gets a 503 and is closed, so no client can hold the receiver's threads.

The standard library's ThreadingHTTPServer serves it: one small JSON endpoint behind loopback or
a proxy needs no web framework, and the models package gains no dependency.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import signal
import sys
import threading
from collections.abc import Mapping
from email.message import Message
from typing import Any

from tabship.models.receiver.alertgroup import (
    PayloadError,
    UnknownAlertError,
    parse_group,
    retrain_requests,
)
from tabship.models.receiver.auth import SIGNATURE_HEADER, authorized
from tabship.models.receiver.config import ReceiverConfig
from tabship.models.receiver.dedup import RecentKeys
from tabship.models.receiver.dispatch import Dispatcher, make_dispatcher
from tabship.models.receiver.queue import DispatchQueue

log = logging.getLogger("tabship.receiver")
MAX_BODY = 1 << 20  # Alertmanager's max_alerts: 20 keeps a notification far below 1 MiB
# A client has this long for each read of its request, headers and body alike, then the
# connection closes: a slow or silent client cannot hold a thread.
READ_TIMEOUT = 10.0
# Connections served at once; the next gets a 503 at once and is closed. Alertmanager sends a
# notification per group and retries, so a handful is plenty.
MAX_CONNECTIONS = 32
# A local job runs one at a time with at most one more waiting: that one retrains on all the
# data there is when it starts, so a third request would add nothing. CI servers queue their own.
PENDING = {"local": 1, "gitlab": 32, "github": 32, "jenkins": 32}
UNAUTHORIZED = (
    f"unauthorized: send 'Authorization: Bearer TOKEN' or "
    f"'{SIGNATURE_HEADER}: t=UNIX_SECONDS,sha256=HMAC' (signed within 5 minutes)"
)

Answer = tuple[int, dict[str, Any]]


class Receiver:
    """The webhook's logic, apart from HTTP: `answer(headers, body)` gives (status, JSON)."""

    def __init__(
        self, config: ReceiverConfig, datasets: Mapping[str, str], dispatch: Dispatcher
    ) -> None:
        self.config = config
        self.datasets = dict(datasets)  # model name -> dataset name
        self.seen = RecentKeys(config.dedup_window_seconds)
        self._keys: dict[str, str] = {}  # group key -> dedup key, to forget on failure
        self.queue = DispatchQueue(dispatch, PENDING[config.mode], self._failed)

    def answer(self, headers: Mapping[str, str] | Message, body: bytes) -> Answer:
        token, secret = self.config.bearer_token, self.config.hmac_secret
        if not authorized(
            headers.get("Authorization") or "",
            headers.get(SIGNATURE_HEADER) or "",
            body,
            token,
            secret,
        ):
            return 401, {"error": UNAUTHORIZED}
        try:
            group = parse_group(body)
            requests = retrain_requests(
                group, self.config.trigger_for, self.datasets,
                ignore_unknown=self.config.unknown_alerts == "ignore",
            )  # fmt: skip
        except PayloadError as error:
            return 400, {"error": f"not an Alertmanager notification: {error}"}
        except UnknownAlertError as error:
            log.warning("refused: %s", error)
            return 422, {"error": str(error)}
        if not requests:
            return 200, {"status": "ignored", "reason": "no firing alert asks for a retrain"}
        key = group.dedup_key()
        if not self.seen.add(key):
            log.info("duplicate alert group %s: already acted on", group.group_key)
            return 200, {"status": "duplicate", "group_key": group.group_key}
        self._keys[group.group_key] = key
        queued: list[dict[str, str]] = []
        dropped: list[dict[str, str]] = []
        for request in requests:
            (queued if self.queue.submit(request) else dropped).append(request.fields())
        if dropped:
            # A retrain runs and one waits: the waiting one will see the same new data.
            log.warning("dropped %s: a retrain runs and another already waits", dropped)
            self.seen.forget(key)
        status = "queued" if queued else "dropped"
        return (202 if queued else 200), {"status": status, "queued": queued, "dropped": dropped}

    def _failed(self, request: Any) -> None:
        """A failed dispatch: the same group sent again may try again."""
        key = self._keys.pop(request.group_key, None)
        if key is not None:
            self.seen.forget(key)


class _Handler(http.server.BaseHTTPRequestHandler):
    receiver: Receiver
    server_version = "tabship-receiver"
    timeout = READ_TIMEOUT  # socketserver sets it on the connection's socket

    def _send(self, status: int, document: Mapping[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"status": "ok", "mode": self.receiver.config.mode,
                             "pending": self.receiver.queue.pending()})  # fmt: skip
        else:
            self._send(404, {"error": f"no such path: {self.path}"})

    def do_POST(self) -> None:
        if self.path != self.receiver.config.path:
            self._send(404, {"error": f"POST the notifications to {self.receiver.config.path}"})
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(411, {"error": "a Content-Length is required"})
            return
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body stays unread
            self._send(413, {"error": f"the body is over {MAX_BODY} bytes"})
            return
        try:
            body = self.rfile.read(int(length))
        except TimeoutError:
            self.close_connection = True  # too slow: no answer is owed, and no thread is held
            log.info("%s: closed, the body did not arrive within %g s", self.address_string(),
                     READ_TIMEOUT)  # fmt: skip
            return
        status, document = self.receiver.answer(self.headers, body)
        self._send(status, document)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class ReceiverServer(http.server.ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS of them."""

    daemon_threads = True
    busy_answer = (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Retry-After: 1\r\nConnection: close\r\nContent-Length: 38\r\n\r\n"
        b'{"error": "too many connections open"}'
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):  # a client gone already needs no answer
                request.sendall(self.busy_answer)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_server(receiver: Receiver, host: str, port: int) -> ReceiverServer:
    """An HTTP server for RECEIVER on HOST:PORT (0: a free port), not yet serving."""
    handler = type("Handler", (_Handler,), {"receiver": receiver})
    return ReceiverServer((host, port), handler)


def serve(config: ReceiverConfig, datasets: Mapping[str, str]) -> int:
    """Serve until SIGTERM or Ctrl-C, then cancel a running local job; the exit code."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    receiver = Receiver(config, datasets, make_dispatcher(config))
    server = make_server(receiver, config.host, config.port)
    host, port = server.server_address[:2]
    print(f"receiving Alertmanager's webhook on http://{host!s}:{port}{config.path} "
          f"(mode {config.mode})", flush=True)  # fmt: skip
    # shutdown() waits for serve_forever to return, so it must run in another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        receiver.queue.stop()
    log.info("stopped")
    return 0
