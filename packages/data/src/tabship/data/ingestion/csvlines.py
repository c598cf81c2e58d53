"""Delimited text (plain or gzip) into chunks of rows, split by this module rather than by a CSV
parser: every physical line is a data row, or counted as blank / comment / header, or returned
as malformed with its line number and raw text (see reader.py for why)."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from tabship.data.config.dataset import ReaderOptions
from tabship.data.errors import DataError
from tabship.data.ingestion.chunks import (
    LINE,
    MALFORMED_SCHEMA,
    MAX_LINE_BYTES,
    RAW,
    Chunk,
    FileFormat,
    LineCounts,
)


def _split_lines(data: bytes, expected: int) -> pl.Series:
    """DATA (valid UTF-8, no final newline, EXPECTED lines) as one string per physical line,
    blank ones as "".

    polars' CSV reader with a separator that never occurs does this ten times faster than
    splitting in Python. A NUL byte would be taken as a separator, and the line count is checked
    against the newlines, so any doubt falls back to the plain split.
    """
    if b"\x00" not in data and data:
        try:
            lines = pl.read_csv(
                data,
                has_header=False,
                separator="\x00",
                quote_char=None,
                comment_prefix=None,
                null_values=None,
                new_columns=[RAW],
                schema={RAW: pl.String},
            )[RAW].fill_null("")
        except pl.exceptions.PolarsError:
            pass
        else:
            if lines.len() == expected:
                return lines
    return pl.Series(RAW, data.decode("utf-8").split("\n"), dtype=pl.String)


class CsvReader:
    """One pass over a delimited text file, plain or gzip, in byte blocks cut at line ends."""

    def __init__(
        self,
        path: Path,
        options: ReaderOptions,
        columns: tuple[str, ...],
        counts: LineCounts,
        file_format: FileFormat,
    ) -> None:
        self.path = path
        self.options = options
        self.columns = columns
        self.counts = counts
        self.gzip = file_format == "csv.gz"
        # Position of each config column among the fields of a line; the header may reorder them.
        self.positions: list[int] = list(range(len(columns)))
        self.width = len(columns)
        self.header_seen = not options.header
        self.rows = 0

    def chunks(self, chunk_bytes: int) -> Iterator[Chunk]:
        total = self.path.stat().st_size
        lines_before = 0
        carry = b""
        with self.path.open("rb") as raw_handle:
            handle: io.BufferedIOBase = (
                gzip.GzipFile(fileobj=raw_handle) if self.gzip else raw_handle
            )
            while True:
                block = self._read(handle, chunk_bytes)
                if block:
                    cut = block.rfind(b"\n")  # CARRY holds no newline: it follows the last one
                    if cut < 0:  # one line longer than a block: keep reading, up to a limit
                        carry += block
                        if len(carry) > MAX_LINE_BYTES:
                            self._too_long(lines_before + 1)
                        continue
                    # One copy of the block, not two: the memoryview is a slice without copying.
                    data, carry = carry + memoryview(block)[:cut], block[cut + 1 :]
                    if len(carry) > MAX_LINE_BYTES:  # lines are counted below, not twice
                        self._too_long(lines_before + data.count(b"\n") + 2)
                elif carry:  # the last line has no newline
                    data, carry = carry, b""
                else:
                    break
                n_lines = data.count(b"\n") + 1
                chunk = self._parse(data, lines_before, n_lines, raw_handle.tell(), total)
                lines_before += n_lines
                if chunk.frame.height or chunk.malformed.height:
                    yield chunk
        if not self.header_seen:
            raise DataError("empty file: no header and no data rows", path=self.path)
        if self.rows == 0:
            if self.options.header:
                raise DataError("header only, no data rows", path=self.path)
            raise DataError(
                f"empty file: no data rows ({self.counts.blank} blank, "
                f"{self.counts.comment} comment lines)",
                path=self.path,
            )

    def _too_long(self, line: int) -> None:
        """LINE has passed MAX_LINE_BYTES with no end: fail in one line."""
        raise DataError(
            f"a line longer than {MAX_LINE_BYTES // 1024} KiB with no line end: not a table "
            "of rows (or its line ends are missing)",
            path=self.path,
            line=line,
        )

    def _read(self, handle: io.BufferedIOBase, size: int) -> bytes:
        try:
            return handle.read(size)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise DataError(f"corrupt gzip data: {exc}", path=self.path) from None

    def _parse(self, data: bytes, lines_before: int, n_lines: int, done: int, total: int) -> Chunk:
        first = lines_before + 1
        malformed: list[dict[str, object]] = []
        try:
            # Only to find invalid bytes, which polars must not see. ASCII is valid UTF-8, and
            # isascii() is several times faster than a decode that builds a string to discard.
            if not data.isascii():
                data.decode("utf-8")
        except UnicodeDecodeError:
            lines = self._decode_line_by_line(data, first, malformed)
        else:
            raw = _split_lines(data, n_lines)
            lines = pl.DataFrame(
                {RAW: raw, LINE: pl.int_range(first, first + len(raw), dtype=pl.Int64, eager=True)}
            )
        if b"\r" in data:  # a copy of every line, so only for files with \r\n line ends
            lines = lines.with_columns(pl.col(RAW).str.strip_suffix("\r"))

        # Blank lines and comment lines are not rows; count them so every line is accounted for.
        blank = pl.col(RAW) == ""
        comment = (
            pl.col(RAW).str.starts_with(self.options.comment_prefix)
            if self.options.comment_prefix
            else pl.lit(False)
        )
        kinds = lines.select(blank.sum().alias("blank"), (comment & ~blank).sum().alias("comment"))
        n_blank, n_comment = int(kinds["blank"][0]), int(kinds["comment"][0])
        self.counts.blank += n_blank
        if n_comment:
            self.counts.comment += n_comment
            if len(self.counts.comment_examples) < 5:
                examples = lines.filter(comment & ~blank).head(5)[RAW].to_list()
                self.counts.comment_examples.extend(
                    examples[: 5 - len(self.counts.comment_examples)]
                )
        # Most blocks have neither: then the filter, a copy of the block, is skipped.
        content = lines.filter(~blank & ~comment) if n_blank or n_comment else lines
        if not self.header_seen and content.height:
            self._read_header(content.row(0, named=True))
            content = content.slice(1)
        frame = self._split_fields(content, malformed)
        # Malformed lines are rows too (quarantined ones): a file of only those is not empty.
        self.rows += frame.height + len(malformed)
        bad = (
            pl.DataFrame(malformed, schema=MALFORMED_SCHEMA, orient="row")
            if malformed
            else pl.DataFrame(schema=MALFORMED_SCHEMA)
        )
        return Chunk(frame, bad, done, total)

    def _decode_line_by_line(
        self, data: bytes, first: int, malformed: list[dict[str, object]]
    ) -> pl.DataFrame:
        """The slow path for a block holding invalid UTF-8: find and set aside each bad line."""
        texts: list[str] = []
        numbers: list[int] = []
        for offset, raw in enumerate(data.split(b"\n")):
            try:
                texts.append(raw.decode("utf-8"))
                numbers.append(first + offset)
            except UnicodeDecodeError as exc:
                malformed.append(
                    {
                        LINE: first + offset,
                        RAW: raw.decode("utf-8", "backslashreplace"),
                        "check": "utf8",
                        "value": f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}",
                    }
                )
        return pl.DataFrame({RAW: texts, LINE: numbers}, schema={RAW: pl.String, LINE: pl.Int64})

    def _fields_of(self, line: str) -> list[str]:
        """Fields of one line that holds the quote character: the only place csv is used."""
        assert self.options.quote_char is not None  # guarded by the caller
        reader = csv.reader(
            [line],
            delimiter=self.options.separator,
            quotechar=self.options.quote_char,
            strict=True,
        )
        return next(reader)

    def _read_header(self, row: dict[str, object]) -> None:
        line, text = int(str(row[LINE])), str(row[RAW])
        q = self.options.quote_char
        names = self._fields_of(text) if q and q in text else text.split(self.options.separator)
        self.counts.header += 1
        self.header_seen = True
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise DataError(
                    f"duplicate column {name!r} in the header", path=self.path, line=line
                )
            seen.add(name)
        for name in self.columns:
            if name not in seen:
                raise DataError(
                    f"required column {name!r} is missing from the header",
                    path=self.path,
                    line=line,
                    column=name,
                )
        for name in names:
            if name not in self.columns:
                raise DataError(
                    f"unexpected column {name!r} in the header (not in the config's columns)",
                    path=self.path,
                    line=line,
                    column=name,
                )
        self.positions = [names.index(name) for name in self.columns]
        self.width = len(names)

    def _split_fields(
        self, content: pl.DataFrame, malformed: list[dict[str, object]]
    ) -> pl.DataFrame:
        """Each line's fields as columns, in one polars query; lines that are not rows go to
        MALFORMED. A block with no quoted and no ragged line (the usual case) is never filtered."""
        q = self.options.quote_char
        quoted = content.head(0)
        plain = content
        if q and content.select(pl.col(RAW).str.contains(q, literal=True).any()).item():
            quoted_mask = pl.col(RAW).str.contains(q, literal=True)
            quoted, plain = content.filter(quoted_mask), content.filter(~quoted_mask)
        fields = pl.col(RAW).str.split(self.options.separator, literal=True)
        frame = (
            plain.lazy()
            .select(
                *(
                    fields.list.get(position, null_on_oob=True).alias(name)
                    for name, position in zip(self.columns, self.positions, strict=True)
                ),
                pl.col(LINE),
                pl.col(RAW),
                fields.list.len().alias("_n"),
            )
            .collect()
        )
        ragged = frame["_n"] != self.width
        if ragged.any():
            for row in frame.filter(ragged).select(LINE, RAW, "_n").iter_rows():
                malformed.append(self._ragged(row[0], row[1], row[2]))
            frame = frame.filter(~ragged)
        frame = frame.drop("_n")
        if quoted.height:
            frame = pl.concat([frame, self._split_quoted(quoted, malformed)]).sort(LINE)
        return frame

    def _split_quoted(
        self, quoted: pl.DataFrame, malformed: list[dict[str, object]]
    ) -> pl.DataFrame:
        records: list[list[str | int]] = []
        for line, text in quoted.select(LINE, RAW).iter_rows():
            try:
                fields = self._fields_of(text)
            except csv.Error as exc:
                malformed.append({LINE: line, RAW: text, "check": "csv_parse", "value": str(exc)})
                continue
            if len(fields) != self.width:
                malformed.append(self._ragged(line, text, len(fields)))
                continue
            records.append([*(fields[p] for p in self.positions), line, text])
        schema = {
            **{name: pl.String() for name in self.columns},
            LINE: pl.Int64(),
            RAW: pl.String(),
        }
        return pl.DataFrame(records, schema=schema, orient="row")

    def _ragged(self, line: int, text: str, count: int) -> dict[str, object]:
        return {
            LINE: line,
            RAW: text,
            "check": "field_count",
            "value": f"{count} fields, expected {self.width}",
        }
