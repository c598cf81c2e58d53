"""A CSV file as request records: typed by the request schema, nulls as None, extras set aside."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabship.data import FieldSpec

_BOOLEANS = {"true": True, "false": False}
_PARSERS: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "number": float,
    "boolean": lambda text: _BOOLEANS[text.lower()],
}


@dataclass(frozen=True)
class CsvRecords:
    """The records, and the CSV columns that are not request fields (a target, an id...)."""

    records: list[dict[str, Any]]
    ignored: list[str]


def _typed(text: str | None, kind: str) -> Any:
    """TEXT as the field's type; a value that does not parse stays a string, so the request
    schema reports it with its record and field instead of the CSV reader failing the file."""
    if text is None:
        return None
    parser = _PARSERS.get(kind)
    if parser is None:
        return text
    try:
        return parser(text)
    except (ValueError, KeyError):
        return text


def read_records(path: Path, fields: list[FieldSpec], na_values: Sequence[str] = ()) -> CsvRecords:
    """Read PATH, which has a header line; empty cells, and cells that are one of NA_VALUES
    (the dataset's missing-value tokens, such as `NA` or `?`), are null."""
    import pandas as pd

    kinds = {f.name: f.kind for f in fields}
    missing = {"", *na_values}
    frame = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    wanted = [c for c in frame.columns if c in kinds]
    records = [
        {name: _typed(None if row[name] in missing else row[name], kinds[name]) for name in wanted}
        for row in frame[wanted].to_dict(orient="records")
    ]
    return CsvRecords(records=records, ignored=[c for c in frame.columns if c not in kinds])
