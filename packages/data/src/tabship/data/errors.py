"""The two kinds of failure a caller must tell apart: bad input data, and a bad invocation/config.

Both render as one line, `FILE:LINE: message`, because the CLI prints them without a traceback and
a person must be able to jump straight to the offending place.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """A structural fault in the input: the run stops and nothing is published (CLI exit 1)."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        super().__init__(self.location() + message)

    def location(self) -> str:
        """`FILE:LINE: ` (or `FILE: `, or nothing) in front of the message."""
        if self.path is None:
            return ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        return where + ": "


class ConfigError(Exception):
    """The config file, the dataset name or the command line is wrong (CLI exit 2)."""


class IntegrityError(DataError):
    """A stored file is missing or its bytes differ from the sha256 recorded when it was written."""
