"""The OpenAPI document the service serves at /docs.json: BentoML's, made valid and truthful.

BentoML 1.4 labels its document `openapi: 3.0.2` but fills it with pydantic's JSON Schema 2020-12
(numeric `exclusiveMinimum`, `anyOf` with `{type: null}`), which is valid OpenAPI 3.1, not 3.0.
It also documents 400, 404 and 500 bodies the service never sends. This module declares 3.1 and
documents what the service does: every status a prediction endpoint answers, with the one error
body of errors.py, the 404 and 405 every path can answer, the limits validation enforces, and an
example request per endpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

OPENAPI_VERSION = "3.1.0"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "The one error body of every 4xx and 5xx answer.",
    "required": ["error", "message", "details"],
    "additionalProperties": False,
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid_input"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "message", "record", "field"],
                "additionalProperties": False,
                "properties": {
                    "type": {"type": "string"},
                    "message": {"type": "string"},
                    "record": {"type": ["integer", "null"], "description": "0-based record"},
                    "field": {"type": ["string", "null"]},
                },
            },
        },
    },
}

# Status -> (description, extra headers) for what a prediction endpoint can answer.
PREDICTION_ERRORS: dict[str, str] = {
    "400": "The body is not JSON.",
    "401": "A bearer token is required (only when the service has TABSHIP_API_TOKEN set).",
    "413": "The body is larger than the service's max_request_bytes.",
    "415": "The body is not sent as application/json.",
    "422": "The body is JSON but not a valid request: every problem is listed in details.",
    "500": "The service failed; the body says no more than that.",
    "503": "The service is overloaded: more request bytes in flight than max_bytes_in_flight "
    "(with Retry-After: 1), BentoML's concurrency limit or timeout, or the prediction log at its "
    "cap with none of it read yet (log_max_bytes; Retry-After: 5): no answer is sent unlogged.",
}
ANY_PATH_ERRORS: dict[str, str] = {
    "404": "No such path.",
    "405": "The path exists but not for this method; the Allow header lists the methods it has.",
}


def _error_response(description: str, status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == "405":
        response["headers"] = {
            "Allow": {"description": "the methods the path has", "schema": {"type": "string"}}
        }
    if status == "401":
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _columns_truth(schema: dict[str, Any], max_rows: int) -> None:
    """Each column holds 1 to MAX_ROWS values; that all are equally long JSON Schema cannot say."""
    for column in schema.get("properties", {}).values():
        column["minItems"] = 1
        column["maxItems"] = max_rows
    schema["description"] = (
        f"One list per field, all equally long (1 to {max_rows} rows); lists of different "
        "lengths are refused with a 422."
    )


def truthful(
    document: Mapping[str, Any],
    *,
    title: str,
    version: str,
    description: str,
    protected: tuple[str, ...],
    examples: Mapping[str, Any],
    max_bulk_rows: int,
    mounted: Mapping[str, dict[str, Any]] | None = None,
    schemas: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """BentoML's DOCUMENT rewritten as a valid OpenAPI 3.1 description of this service.

    PROTECTED are the prediction paths; EXAMPLES maps a path to an example request body. MOUNTED
    are the POST operations of routes BentoML does not know (mounted ASGI routes), with the
    component SCHEMAS they refer to.
    """
    out = copy.deepcopy(dict(document))
    for path, operation in (mounted or {}).items():
        out.setdefault("paths", {})[path] = {"post": copy.deepcopy(operation)}
    out["openapi"] = OPENAPI_VERSION
    out["info"] = {"title": title, "version": version, "description": description}
    components: dict[str, Any] = out.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in (schemas or {}).items():
        components.setdefault(name, schema)
    for unused in ("InvalidArgument", "NotFound", "InternalServerError", "TaskStatusResponse"):
        components.pop(unused, None)
    components["Error"] = ERROR_SCHEMA
    out["components"]["responses"] = {
        {"404": "NotFound", "405": "MethodNotAllowed"}[status]: _error_response(text, status)
        for status, text in ANY_PATH_ERRORS.items()
    }
    if "Columns" in components:
        _columns_truth(components["Columns"], max_bulk_rows)
    for path, operations in out.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in ("400", "404", "500"):
                responses.pop(status, None)
            if path in protected:
                for status, text in PREDICTION_ERRORS.items():
                    responses[status] = _error_response(text, status)
                request = operation.get("requestBody", {})
                request["required"] = True  # no body is a 422, never a prediction
                body = request.get("content", {}).get("application/json")
                if body is not None and path in examples:
                    body["example"] = examples[path]
    return out
