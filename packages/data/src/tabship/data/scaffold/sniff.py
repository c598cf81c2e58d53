"""Guess how a delimited text file is written: separator, quoting, header line, missing tokens.

`tabship-data init` starts from these guesses and writes them into the dataset's config, where the
user reads and adjusts them. The guesses are plain rules on a sample of lines, so each can be
explained in the config's comments. The rows read here (`RawTable`) feed the schema inference.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tabship.data.errors import DataError
from tabship.data.ingestion.chunks import MAX_LINE_BYTES
from tabship.data.ingestion.reader import detect_format

# Tried in this order; the first that splits every sampled line into the same number (> 1) of
# fields wins. ", " comes first so that Adult-style "a, b" files keep no leading spaces.
SEPARATORS = (", ", ",", "\t", ";", "|", " ")
# Whole-field values that mean "missing" in files seen in the wild.
NA_CANDIDATES = ("", "?", "NA", "N/A", "n/a", "na", "NULL", "null", "None", "NaN", "nan", "-", ".")
SNIFF_LINES = 200
AGREE = 0.9  # share of sampled lines that must agree on the field count (others are ragged)
MAX_INIT_BYTES = 512 * 1024 * 1024  # what init reads of a file, decompressed
MAX_ROWS = 500_000  # rows read to infer the schema: enough for category lists and ranges


@dataclass(frozen=True)
class RawTable:
    """A file's rows as strings, with the reader options that produced them."""

    path: Path
    columns: tuple[str, ...]
    rows: list[list[str]]
    header: bool
    separator: str
    quote_char: str | None
    comment_prefix: str | None
    rows_total: int  # data rows in the whole file (rows may hold only the first MAX_ROWS)
    ragged: int = 0  # lines with another field count, left out (ingest quarantines them)


def _text_lines(path: Path) -> list[str]:
    gzipped = detect_format(path) == "csv.gz"  # by magic bytes, as ingest reads it
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            raw = handle.read(MAX_INIT_BYTES + 1)  # bounded: a gzip may expand a thousandfold
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt gzip data: {exc}", path=path) from None
    if len(raw) > MAX_INIT_BYTES:
        raise DataError(
            f"init reads files up to {MAX_INIT_BYTES // 2**20} MiB (decompressed): start from a "
            "sample of the rows, then ingest the whole file",
            path=path,
        )
    # A window of MAX_LINE_BYTES with no line end is inside a line at least that long; aligned
    # windows find every line twice that long with a few hundred scans, not one per line.
    step = MAX_LINE_BYTES
    if any(b"\n" not in raw[i : i + step] for i in range(0, len(raw) - step + 1, step)):
        raise DataError(
            f"a line longer than {MAX_LINE_BYTES // 1024} KiB: not a table of rows", path=path
        )
    if raw[:4] == b"PAR1" or b"\x00" in raw[:65536]:
        raise DataError("not a delimited text file (binary content); init reads CSV", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}); init reads CSV", path=path) from None
    return text.splitlines()


def _split(line: str, separator: str, quote: str | None) -> list[str]:
    if quote and quote in line and len(separator) == 1:
        return next(csv.reader([line], delimiter=separator, quotechar=quote))
    return line.split(separator)


def _choose_separator(lines: list[str], quote: str | None) -> tuple[str, int]:
    """The first separator that splits at least AGREE of the lines into the same number (> 1) of
    fields, and that number; ("", 0) when none does."""
    for separator in SEPARATORS:
        if len(separator) > 1 and quote:
            continue
        widths = Counter(len(_split(line, separator, quote)) for line in lines)
        width, count = widths.most_common(1)[0]
        if width > 1 and count >= AGREE * len(lines):
            return separator, width
    return "", 0


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _looks_like_header(first: list[str], body: list[list[str]]) -> bool:
    """A header line names columns: a name where the column holds numbers, or names that never
    occur again as values in their columns."""
    for i, name in enumerate(first):
        values = [row[i] for row in body if row[i] not in NA_CANDIDATES]
        if values and all(_is_number(v) for v in values) and not _is_number(name):
            return True
    if any(_is_number(name) for name in first) or len(set(first)) != len(first):
        return False
    seen = [{row[i] for row in body} for i in range(len(first))]
    return all(name not in seen[i] for i, name in enumerate(first))


def read_raw(path: Path) -> RawTable:
    """Sniff PATH and read its rows. DataError (naming the file) when it is not a table."""
    if not path.is_file():
        raise DataError("file not found", path=path)
    lines = _text_lines(path)
    comment = "#" if lines and lines[0].startswith("#") else None
    content = [
        line for line in lines if line.strip() and not (comment and line.startswith(comment))
    ]
    if len(content) < 3:
        raise DataError("not a table: fewer than three non-blank lines", path=path)
    sample = content[:SNIFF_LINES]
    quote = '"' if any('"' in line for line in sample) else None
    separator, width = _choose_separator(sample, quote)
    if not separator:
        widths = Counter(len(_split(line, ",", quote)) for line in sample)
        raise DataError(
            "not a table: no separator (, ; tab | space) splits every line into the same number "
            f"of fields (with ',' the lines have {sorted(widths)} fields)",
            path=path,
        )
    split = [_split(line, separator, quote) for line in content[: MAX_ROWS + 1]]
    # Ragged lines are left out of the inference; ingest quarantines them with their text.
    rows_all = [row for row in split if len(row) == width]
    ragged = len(split) - len(rows_all)
    first, body = rows_all[0], rows_all[1:]
    header = _looks_like_header(first, body[:SNIFF_LINES])
    if header:
        columns = tuple(name.strip() for name in first)
        rows = body
    else:
        columns = tuple(f"column_{i}" for i in range(1, width + 1))
        rows = [first, *body][:MAX_ROWS]
    if len(set(columns)) != len(columns) or not all(columns):
        raise DataError("the header line has empty or repeated column names", path=path, line=1)
    return RawTable(
        path=path,
        columns=columns,
        rows=rows,
        header=header,
        separator=separator,
        quote_char=quote,
        comment_prefix=comment,
        rows_total=len(content) - (1 if header else 0),
        ragged=ragged,
    )


def na_tokens(table: RawTable) -> tuple[str, ...]:
    """The NA_CANDIDATES that occur as whole fields, in a stable order."""
    found = {value for row in table.rows for value in row if value in NA_CANDIDATES}
    return tuple(token for token in NA_CANDIDATES if token in found)


def column_values(table: RawTable, column: str) -> list[str]:
    """One column's raw strings."""
    i = table.columns.index(column)
    return [row[i] for row in table.rows]


def describe_reader(table: RawTable) -> str:
    """One line for the summary: what was guessed."""
    shown = {"\t": "tab", " ": "space", ", ": "', ' (a comma and a space)"}
    separator = shown.get(table.separator, repr(table.separator))
    return (
        f"separator {separator}, {'a header line' if table.header else 'no header line'}, "
        f"{'double quotes' if table.quote_char else 'no quoting'}"
    )
