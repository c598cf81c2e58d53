"""Tell a running service to reload its model: POST to its /admin/reload with a bearer token.

The registry commands that move the `champion` alias (rollback, retrain) call this with
`--notify URL`, so the service follows at once rather than at its next watch. Plain urllib:
models must not import serving, and a POST needs nothing more.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

RELOAD_PATH = "/admin/reload"
TOKEN_ENV = "TABSHIP_RELOAD_TOKEN"  # noqa: S105  (the variable's name, not a secret)


class NotifyError(RuntimeError):
    """The service did not reload; the message says what it answered, or why nothing did."""


def reload_url(url: str) -> str:
    """URL itself when it names a path; the service's reload endpoint when it is a bare base URL
    (`http://host:3000` or `http://host:3000/`). ValueError for anything but http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--notify needs an http(s) URL, not {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=RELOAD_PATH)
    return urlunsplit(parts)


def notify_reload(url: str, token: str | None, timeout: float = 10) -> dict[str, Any]:
    """POST to the reload endpoint at URL (see reload_url) with `Authorization: Bearer TOKEN`;
    the service's JSON answer (what it serves now). NotifyError on any other outcome."""
    target = reload_url(url)
    request = urllib.request.Request(target, data=b"{}", method="POST")  # noqa: S310  (http(s) only)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as error:
        raise NotifyError(f"{target} answered {error.code}: {_message(error.read())}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise NotifyError(f"{target}: no answer ({reason})") from None
    try:
        answer = json.loads(body)
    except ValueError:
        raise NotifyError(f"{target} answered 200 with a body that is not JSON") from None
    if not isinstance(answer, dict):
        raise NotifyError(f"{target} answered 200 with {type(answer).__name__}, not an object")
    return answer


def _message(body: bytes) -> str:
    """The service's error message (its one error shape), else the body's start."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and "message" in document:
        return str(document["message"])
    return body.decode("utf-8", "replace").strip()[:200] or "no body"


def reload_service(url: str) -> tuple[dict[str, Any] | None, str | None]:
    """After the registry moved: POST URL's reload with $TABSHIP_RELOAD_TOKEN. (The service's
    answer, None), or (None, why it did not reload): the move stands either way, and the caller
    says so. Rollback and retrain share it."""
    try:
        return notify_reload(url, os.environ.get(TOKEN_ENV)), None
    except NotifyError as error:
        return None, str(error)
