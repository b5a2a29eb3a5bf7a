"""CSV that opens cleanly in Excel, LibreOffice and Google Sheets and never runs as a formula.

A spreadsheet runs a cell as a formula when its text starts with `=`, `+`, `-` or `@` (and
some also after a tab, a carriage return or leading spaces; old Excel runs `|` as DDE and
treats `%` specially). Such a cell gets a leading apostrophe, which the spreadsheet shows
as plain text. The file is UTF-8 with a byte order mark, so Excel reads non-Latin names
right, and is written in chunks so a response or a pipe can stream it."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

BOM = "\ufeff"
FORMULA_TRIGGERS = frozenset("=+-@\t\r|%")
# First characters that need a closer look: the triggers, and whitespace that may hide one.
# Every character str.isspace() knows (the last is U+3000), so none can hide a trigger from
# the first-character test: the information separators U+001C-U+001F included.
_SUSPECT = FORMULA_TRIGGERS | frozenset(chr(c) for c in range(0x3001) if chr(c).isspace())
CHUNK_ROWS = 500


def is_formula(text: str) -> bool:
    return text[:1] in FORMULA_TRIGGERS or text.lstrip()[:1] in FORMULA_TRIGGERS


def neutralize(value):
    """The value, with a leading apostrophe if a spreadsheet would run it as a formula.
    Anything that is not text (numbers, None) is returned as it is."""
    if value.__class__ is str and value and value[0] in _SUSPECT and is_formula(value):
        return "'" + value
    return value


def _safe_row(row) -> list:
    # neutralize() inlined: a million rows of a report pass through here.
    return ["'" + cell if cell.__class__ is str and cell and cell[0] in _SUSPECT
            and is_formula(cell) else cell for cell in row]


class _Buffer:
    """csv.writer writes here; the rows of one chunk are joined and handed out at once."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable], encoding: str = "utf-8",
               chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The header and every row as CSV bytes (BOM first, CRLF line ends), in chunks of
    `chunk_rows` rows. Every text cell goes through neutralize(); rows are consumed lazily,
    so a generator of database rows streams with flat memory."""
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_safe_row(header))
    yield (BOM + buffer.take()).encode(encoding)
    batch = []
    append = batch.append
    for row in rows:
        append(_safe_row(row))
        if len(batch) >= chunk_rows:
            writer.writerows(batch)
            batch.clear()
            yield buffer.take().encode(encoding)
    if batch:
        writer.writerows(batch)
        yield buffer.take().encode(encoding)
