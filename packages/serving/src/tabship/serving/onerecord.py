"""POST /predict_one as a lean Starlette route mounted on the BentoML service.

A single record through BentoML's API machinery (IO descriptors, the media type worked out from a
JSON schema on every response, the task wrapper) cost three times the scoring itself. This route
does the same work and no more: it validates the body with the same strict pydantic model, answers
a fault with the one error body, and scores through the service instance, so the metrics and the
prediction log see every request. BentoML's middleware (its request metrics, tracing, access log,
limits) and ours (auth, size, content type) still wrap it, as they wrap every route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import bentoml
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.routing import Route

from tabship.serving.errors import ClientError, from_pydantic

PATH = "/predict_one"
Message = MutableMapping[str, Any]


async def _answer(send: Callable[[Message], Awaitable[None]], status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class OneRecord:
    """The ASGI endpoint: the body, validated by MODEL, scored by the service instance."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        chunks = []
        while True:  # GuardMiddleware has read and bounded the body already
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        try:
            parsed: Any = self.model.model_validate_json(b"".join(chunks))
        except ValidationError as error:
            refusal = from_pydantic(error.errors(include_url=False))
            await _answer(send, refusal.status, refusal.to_bytes())
            return
        try:
            answer = bentoml.get_current_service().predict_one(parsed.records)
        except ClientError as error:
            await _answer(send, error.body.status, error.body.to_bytes())
            return
        await _answer(send, 200, answer)


class _Routes(Starlette):
    """Only the routes: the service's own app around it already handles errors."""

    def build_middleware_stack(self) -> Any:
        return self.router


def one_record_app(model: type[BaseModel]) -> Starlette:
    """The app holding POST /predict_one, validating bodies with MODEL (`{"records": [record]}`).
    A Starlette app, so that BentoML's mount matches only this route and passes the rest on."""
    return _Routes(routes=[Route(PATH, OneRecord(model), methods=["POST"])])
