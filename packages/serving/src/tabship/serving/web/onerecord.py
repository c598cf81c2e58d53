"""POST /predict_one as a lean Starlette route mounted on the BentoML service.

A single record through BentoML's API machinery (IO descriptors, the media type worked out from a
JSON schema on every response, the task wrapper) cost three times the scoring itself. This route
does the same work and no more: it validates the body with the same strict pydantic model, answers
a fault with the one error body, and scores through the service instance, so the metrics and the
prediction log see every request. BentoML's middleware (its request metrics, tracing, access log,
limits) and ours (auth, size, content type) still wrap it, as they wrap every route.
"""

from __future__ import annotations

import json
from typing import Any

from bentoml import get_current_service  # bound once: each `bentoml.X` is a lazy lookup
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.routing import Route

from tabship.serving.errors import ClientError, from_pydantic
from tabship.serving.runtime.scorer import Scored
from tabship.serving.web.responses import Prediction
from tabship.serving.web.routes import Message, answer

PATH = "/predict_one"
# The benchmark's ceiling (bench/bench_serve.py): a /predict_one that does nothing, mounted only
# when the server's environment sets NOOP_ENV=1. Not an endpoint of the service.
NOOP_PATH = "/bench/noop"
NOOP_ENV = "TABSHIP_BENCH_NOOP"
NOOP_ANSWER = b'[{"prediction_id":"0","probability":0.5,"label":1,"model_version":"0"}]'


class OneRecord:
    """The ASGI endpoint: the body, validated by MODEL, scored by the service instance."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        """Validate, score, answer."""
        chunks = []
        while True:  # GuardMiddleware has read and bounded the body already
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parsed: Any = self.model.model_validate_json(body)
        except ValidationError as error:
            parsed = _bare_record(self.model, body)  # the record itself, not in `records`
            if parsed is None:
                refusal = from_pydantic(error.errors(include_url=False))
                await answer(send, refusal.status, refusal.to_bytes())
                return
            try:
                parsed = self.model.model_validate({"records": [parsed]})
            except ValidationError as wrapped:  # the record's own faults, named as record 0
                refusal = from_pydantic(wrapped.errors(include_url=False))
                await answer(send, refusal.status, refusal.to_bytes())
                return
        try:
            body = get_current_service().predict_one(parsed.records)
        except ClientError as error:
            await answer(send, error.body.status, error.body.to_bytes())
            return
        await answer(send, 200, body)


class NoOp:
    """The same route doing nothing: the body read as OneRecord reads it, a constant answer of the
    same size. What it serves is the framework's and the middleware's own ceiling."""

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if not message.get("more_body", False):
                break
        await answer(send, 200, NOOP_ANSWER)


def one_answer(scored: Scored) -> bytes:
    """`json.dumps([prediction])` of one scored record, written directly (a test holds the two
    equal byte for byte): the list of dicts and the encoder's walk cost more than the text."""
    version, identifier = json.dumps(scored.model_version), json.dumps(scored.prediction_ids[0])
    return (
        f'[{{"prediction_id": {identifier}, "probability": {float(scored.probability[0])!r}, '
        f'"label": {int(scored.label[0])}, "model_version": {version}}}]'
    ).encode()


def noop_route() -> Route:
    """POST /bench/noop (see NOOP_ENV)."""
    return Route(NOOP_PATH, NoOp(), methods=["POST"])


def _bare_record(model: type[BaseModel], body: bytes) -> dict[str, Any] | None:
    """BODY's object when it is a record sent as it is (a JSON object without `records`):
    the route takes `{"records": [record]}` and the record alone alike. None otherwise."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and "records" not in document:
        return document
    return None


def one_record_route(model: type[BaseModel]) -> Route:
    """POST /predict_one, validating bodies with MODEL (`{"records": [record]}`, or the record
    itself); mount it with
    `asgiroutes.routes_app`, so that BentoML's mount matches only this route."""
    return Route(PATH, OneRecord(model), methods=["POST"])


def one_record_operation(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI operation of the mounted /predict_one route, whose body MODEL validates, and
    the schemas it refers to (the document BentoML writes knows only its own routes)."""
    ref = "#/components/schemas/{model}"
    wrapped = model.model_json_schema(ref_template=ref)
    answer = TypeAdapter(list[Prediction]).json_schema(ref_template=ref)
    schemas = {**wrapped.pop("$defs", {}), **answer.pop("$defs", {})}
    # The record in `records`, or the record itself: a caller posting one record gets it scored.
    body = {"anyOf": [wrapped, {"$ref": ref.format(model="Record")}]}
    operation = {
        "tags": ["Service APIs"],
        "operationId": "tabship_classifier__predict_one",
        "description": 'Score one record, sent as `{"records": [record]}` or as the record '
        "itself; answer `[prediction]`.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {"application/json": {"schema": answer}},
            }
        },
    }
    return operation, schemas
