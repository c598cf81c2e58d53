"""Small Starlette apps mounted on the BentoML service: their routes only, and a JSON answer.

BentoML mounts each app at `/` and hands it only the paths its routes match (the rest go on to
BentoML's own routes); the service's app around them already handles errors and middleware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

Message = MutableMapping[str, Any]


async def answer(send: Callable[[Message], Awaitable[None]], status: int, body: bytes) -> None:
    """Send BODY (JSON) with STATUS."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _Routes(Starlette):
    """Only the routes: the service's own app around it already handles errors."""

    def build_middleware_stack(self) -> Any:
        return self.router


def routes_app(routes: Sequence[BaseRoute]) -> Starlette:
    """A Starlette app of ROUTES and nothing else, for `mount_asgi_app(..., path="/")`."""
    return _Routes(routes=list(routes))
