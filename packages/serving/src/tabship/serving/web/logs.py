"""Structured JSON logs for the service, and silence for BentoML's client-error tracebacks.

BentoML logs every 4xx at ERROR with a full traceback; the middleware already writes one JSON line
per refused request, so those records are dropped here and real server errors are kept.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from pydantic import ValidationError

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render RECORD as JSON."""
        document: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        document.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


class DropClientErrors(logging.Filter):
    """Drop BentoML's 'Exception on /path' records whose exception is the client's fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for records about validation errors and 4xx exceptions."""
        if not record.exc_info or record.exc_info[1] is None:
            return True
        exc = record.exc_info[1]
        if isinstance(exc, ValidationError):
            return False
        code = getattr(getattr(exc, "error_code", None), "value", 500)
        return not (isinstance(code, int) and 400 <= code < 500)


def configure() -> None:
    """JSON lines on stderr for tabship's loggers; the filter on BentoML's app logger."""
    logger = logging.getLogger("tabship.serving")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    for name in ("bentoml._internal.server.http_app", "_bentoml_impl.server.app"):
        app_logger = logging.getLogger(name)
        if not any(isinstance(f, DropClientErrors) for f in app_logger.filters):
            app_logger.addFilter(DropClientErrors())
