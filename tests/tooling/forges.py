"""Loopback stand-ins of GitHub's and GitLab's REST APIs: the few routes a review posts to.

Each checks what the documentation asks of a request (its auth header, the media type and API
version header on GitHub, a JSON object with a string `body`), refuses anything else with the
status the real API gives, keeps the comments in memory, and pages its lists two at a time, so
that finding the review's comment again needs the pagination (Link on GitHub, X-Next-Page on
GitLab). Not a mock of the tool: a server, spoken to over HTTP.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = 2  # items a page, whatever per_page asks: pagination is always exercised


class Forge:
    """One stand-in: `github` (under PREFIX, '' or '/api/v3') or `gitlab` ('/api/v4')."""

    def __init__(self, kind: str, token: str, prefix: str = "") -> None:
        self.kind, self.token, self.prefix = kind, token, prefix
        self.comments: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.fail_with: int | None = None  # answer every request with this status
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(
                self, status: int, body: Any, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                forge.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if forge.fail_with:
                    self._answer(forge.fail_with, {"message": "Forbidden"})
                    return
                problem = forge.check(self.headers, self.command, raw)
                if problem:
                    self._answer(problem[0], {"message": problem[1]})
                    return
                body = json.loads(raw) if raw else None
                status, answer, headers = forge.route(self.command, self.path, body)
                self._answer(status, answer, headers)

            do_GET = do_POST = do_PATCH = do_PUT = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{prefix}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Forge:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def check(  # noqa: PLR0911  (one return a refusal)
        self, headers: Any, method: str, raw: bytes
    ) -> tuple[int, str] | None:
        """What the real API would refuse: a missing or wrong token, a wrong media type, a body
        that is not JSON with a string `body` (comments) or a valid `state` (statuses)."""
        if self.kind == "github":
            if headers.get("Authorization") != f"Bearer {self.token}":
                return 401, "Bad credentials"
            if headers.get("Accept") != "application/vnd.github+json":
                return 415, "Unsupported media type"
            if headers.get("X-GitHub-Api-Version") != "2022-11-28":
                return 400, "Invalid API version"
        elif headers.get("PRIVATE-TOKEN") != self.token:
            return 401, "401 Unauthorized"
        if method in ("POST", "PATCH", "PUT"):
            if headers.get("Content-Type") != "application/json":
                return 415, "Content-Type must be application/json"
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, "Problems parsing JSON"
            if "state" in body:
                if body["state"] not in ("error", "failure", "pending", "success"):
                    return 422, "Validation Failed"
                if len(body.get("description", "")) > 140:
                    return 422, "description is too long (maximum is 140 characters)"
            elif not isinstance(body.get("body"), str) or len(body["body"]) > 65536:
                return 422, "body is missing or too long"
        return None

    def _page(self, path: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
        parts = urlsplit(path)
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        items = self.comments[(page - 1) * PAGE : page * PAGE]
        headers = {}
        if page * PAGE < len(self.comments):
            if self.kind == "github":
                url = f"{self.url}{parts.path[len(self.prefix) :]}?per_page=100&page={page + 1}"
                headers["Link"] = f'<{url}>; rel="next", <{url}>; rel="last"'
            else:
                headers["X-Next-Page"] = str(page + 1)
        return items, headers

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        route = urlsplit(path).path[len(self.prefix) :]
        if self.kind == "github":
            listing = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/\d+/comments", route)
            one = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", route)
            status = re.fullmatch(r"/repos/[^/]+/[^/]+/statuses/([0-9a-f]{40})", route)
            edit = "PATCH"
        else:
            listing = re.fullmatch(r"/projects/[^/]+/merge_requests/\d+/notes", route)
            one = re.fullmatch(r"/projects/[^/]+/merge_requests/\d+/notes/(\d+)", route)
            status, edit = None, "PUT"
        if listing and method == "GET":
            items, headers = self._page(path)
            return 200, items, headers
        if listing and method == "POST":
            comment = {"id": 1000 + len(self.comments), "body": body["body"]}
            self.comments.append(comment)
            return 201, comment, {}
        if one and method == edit:
            for comment in self.comments:
                if comment["id"] == int(one.group(1)):
                    comment["body"] = body["body"]
                    return 200, comment, {}
            return 404, {"message": "Not Found"}, {}
        if status and method == "POST":
            self.statuses.append({"sha": status.group(1), **body})
            return 201, body, {}
        return 404, {"message": "Not Found"}, {}
