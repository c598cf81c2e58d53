"""One error body for every 4xx and 5xx the service sends.

    {"error": CODE, "message": TEXT, "details": [{"record": INT|null, "field": STR|null,
                                                 "type": STR, "message": TEXT}]}

BentoML answers a pydantic failure with `{"error", "detail"}`, a raised exception with a JSON
*array*, and Starlette's 404 with plain text; `normalise` turns each of these into this shape, so a
client parses one thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any

from bentoml.exceptions import BentoMLException

# An echoed name or message is cut to this many characters: a 10 MB field name must not come back
# 10 MB long in the answer and in the log line (issue 28: it stalled a worker whose stderr was a
# pipe read slowly).
ECHO_LIMIT = 200


def capped(text: str, limit: int = ECHO_LIMIT) -> str:
    """TEXT, or its first LIMIT characters and how many more there were."""
    return (
        text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit:,} more characters)"
    )


# Names of the request bodies' top-level keys: a location that starts with one is inside it.
BODY_KEYS = ("records", "columns", "top_k")
# The status and code per situation; clients can rely on these codes.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "overloaded",
}


@dataclass(frozen=True)
class Detail:
    """One problem: which record (0-based) and field, of what type, in words."""

    type: str
    message: str
    record: int | None = None
    field: str | None = None


@dataclass(frozen=True)
class ErrorBody:
    """The error response body."""

    status: int
    error: str
    message: str
    details: list[Detail] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the status, which is the HTTP status)."""
        return {
            "error": self.error,
            "message": self.message,
            "details": [asdict(d) for d in self.details],
        }

    def to_bytes(self) -> bytes:
        """UTF-8 JSON."""
        return json.dumps(self.to_dict()).encode("utf-8")


class ClientError(BentoMLException):
    """Raised inside an API method for input the schema cannot catch; BentoML sends it as a 4xx."""

    def __init__(self, body: ErrorBody) -> None:
        self.error_code = HTTPStatus(body.status)
        self.body = body
        # BentoML puts str(exc) into its own body; `normalise` reads ours back out of it.
        super().__init__(body.to_bytes().decode("utf-8"))


def _location(loc: Sequence[Any]) -> tuple[int | None, str | None]:
    """Record index and field name from a pydantic error location."""
    parts = list(loc)
    if parts and parts[0] in BODY_KEYS and len(parts) > 1:
        key = parts.pop(0)
        if key == "columns":  # columns: (field, row)
            name = next((p for p in parts if isinstance(p, str)), None)
            row = next((p for p in parts if isinstance(p, int)), None)
            return row, name
    elif parts and parts[0] in BODY_KEYS:
        return None, str(parts[0])
    record = next((p for p in parts if isinstance(p, int)), None)
    name = next((p for p in parts if isinstance(p, str)), None)
    return record, name


def from_pydantic(errors: Iterable[Mapping[str, Any]]) -> ErrorBody:
    """A pydantic error list (as BentoML returns it) in our shape."""
    details = []
    for error in errors:
        record, name = _location(error.get("loc") or ())
        details.append(
            Detail(
                type=capped(str(error.get("type"))),
                message=capped(str(error.get("msg"))),
                record=record,
                field=None if name is None else capped(str(name)),
            )
        )
    if details and all(d.type == "json_invalid" for d in details):
        return ErrorBody(400, "invalid_json", "the request body is not valid JSON", details)
    count = len(details)
    return ErrorBody(422, "invalid_input", f"{count} problem(s) in the request", details)


def normalise(status: int, body: bytes) -> ErrorBody:
    """Any error response body (BentoML's, Starlette's or ours) in our shape."""
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("detail"), list):
        return from_pydantic(parsed["detail"])
    if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
        parsed = parsed[0]  # BentoML's body for a raised BentoMLException: [{"error": ...}]
        text = str(parsed.get("error", ""))
        try:
            ours = json.loads(text)
        except ValueError:
            ours = None
        if isinstance(ours, dict) and "error" in ours and "details" in ours:
            details = [_capped_detail(d) for d in ours["details"]]
            return ErrorBody(status, ours["error"], capped(str(ours["message"])), details)
        return ErrorBody(status, CODES.get(status, "bad_request"), capped(text))
    if isinstance(parsed, dict) and {"error", "message", "details"} <= parsed.keys():
        details = [_capped_detail(d) for d in parsed["details"]]
        return ErrorBody(status, parsed["error"], capped(str(parsed["message"])), details)
    if status >= 500:
        return ErrorBody(status, "internal_error", "an unexpected error; see the server log")
    text = body.decode("utf-8", "replace").strip() or HTTPStatus(status).phrase
    if isinstance(parsed, dict) and "error" in parsed:
        text = str(parsed["error"])
    return ErrorBody(status, CODES.get(status, "bad_request"), capped(text))


def _capped_detail(raw: Mapping[str, Any]) -> Detail:
    """A detail read back from a body, its texts capped."""
    name = raw.get("field")
    return Detail(
        type=capped(str(raw.get("type"))),
        message=capped(str(raw.get("message"))),
        record=raw.get("record"),
        field=None if name is None else capped(str(name)),
    )
