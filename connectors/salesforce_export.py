"""Salesforce weekly data export: a folder or .zip of one CSV per object.

Every column is kept as the string it was, custom `*__c` fields included, so a new field in
the org never needs a code change. The source key is the 18-character `Id`.

A file comes out as `CsvBatch`es, its rows as bytes for PostgreSQL to parse in bulk, each
of which can still be read here (`read_csv`) when the database reads it otherwise.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from connectors.records import DEFAULT_CHUNK, CsvBatch, RecordBatch, Rejected, chunked

SOURCE = "salesforce"

#: Export file stem -> raw entity, for the objects salesops merges.
OBJECTS: dict[str, str] = {
    "User": "user", "Account": "account", "Contact": "contact", "Lead": "lead",
    "Opportunity": "opportunity", "OpportunityHistory": "opportunity_history",
    "Campaign": "campaign", "CampaignMember": "campaign_member", "Task": "task",
}

BOM = b"\xef\xbb\xbf"

# Long text fields (descriptions, email bodies) exceed csv's 128 KiB default.
csv.field_size_limit(2**31 - 1)


def entity_name(stem: str) -> str:
    """`OpportunityHistory` -> `opportunity_history`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower()


def read_export(path: str | Path, objects: Iterable[str] | None = None,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[CsvBatch | RecordBatch]:
    """Yield batches for each object file present in the export (missing ones are skipped).

    `objects` are file stems such as "Contact"; by default the ones in `OBJECTS`.
    """
    path = Path(path)
    wanted = list(objects or OBJECTS)
    for stem in wanted:
        with _open_member(path, f"{stem}.csv") as (stream, origin):
            if stream is None:
                continue
            entity = OBJECTS.get(stem) or entity_name(stem)
            yield from csv_batches(entity, origin, stream, chunk_size)


def csv_batches(entity: str, origin: str, stream: Iterable[bytes],
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[CsvBatch | RecordBatch]:
    """The file's rows, at most `chunk_size` a batch, as `CsvBatch`es of whole rows (a quoted
    field may span lines); from the first run of rows that PostgreSQL might split or read
    otherwise than `read_csv` (quoting beyond RFC 4180, a file cut inside quotes), the rest
    of the file as `read_csv`'s record batches.
    """
    lines = iter(stream)
    header = next(lines, None)
    if header is None:
        return
    names = next(csv.reader([_decode(header.removeprefix(BOM))],
                            delimiter=(delimiter := _delimiter(_decode(header)))), [])
    if header.count(b'"') % 2:  # a header spanning lines: read the whole file here
        yield from chunked(SOURCE, entity, origin, read_csv(itertools.chain([header], lines)),
                           chunk_size)
        return
    line = 2  # of the batch's first row
    while chunk := list(itertools.islice(lines, chunk_size)):
        data = b"".join(chunk)
        rows, copyable = len(chunk), True
        if b'"' in data:
            rows, odd = 0, 0
            for text in chunk:
                odd ^= text.count(b'"') & 1
                rows += not odd
            while odd and (text := next(lines, None)) is not None:  # a row across the cut
                chunk.append(text)
                odd ^= text.count(b'"') & 1
                rows += not odd
            data = b"".join(chunk)
            copyable = not odd and _rfc4180(data, delimiter)
        if not copyable:
            rest = read_csv(itertools.chain([header], chunk, lines), line_offset=line - 2)
            yield from chunked(SOURCE, entity, origin, rest, chunk_size)
            return
        yield CsvBatch(SOURCE, entity, origin, data, rows, _unique(names), delimiter, "Id",
                       parse=lambda d=data, n=line - 2: read_csv(
                           itertools.chain([header], io.BytesIO(d)), line_offset=n))
        line += len(chunk)


def _rfc4180(data: bytes, delimiter: str) -> bool:
    """Whether every quote in `data` (whole lines) opens a field, closes it, or is doubled
    inside it, as RFC 4180 has it. Then Python's csv and PostgreSQL's COPY read the same
    fields; they differ on a quote inside an unquoted field (`5" disk`), which Python's csv
    takes literally and PostgreSQL as quoting.

    Split at the quotes, the odd parts are inside quoted fields; each even part between
    them must be empty (a doubled quote) or run from a field's end to the next one's start.
    Checked once per distinct part, so a file quoting every field costs one split.
    """
    parts = data.split(b'"')
    if len(parts) % 2 == 0:
        return False
    if len(parts) == 1:
        return True
    d = delimiter.encode()
    ends = (d, b"\n")
    first, *between, last = parts[::2]
    return ((not first or first.endswith(ends))
            and (not last or last.startswith((d, b"\n", b"\r\n")))
            and all(not part or (part.startswith((d, b"\n", b"\r\n")) and part.endswith(ends))
                    for part in set(between)))


def read_csv(stream: Iterable[bytes], line_offset: int = 0
             ) -> Iterator[dict[str, Any] | Rejected]:
    """Rows of one export CSV as records keyed by `Id`, or Rejected with the line number.

    Re-saved exports are read as they come: UTF-8 with or without a BOM, else Windows-1252
    (per line, so one odd line does not garble the file); `;`, tab or `|` as delimiter when
    the header has no comma; a repeated header name keeps its values as `Name (2)`. A file that
    ends inside a quoted field (a truncated download) has its last row quarantined, never
    loaded cut short. `line_offset` is added to line numbers (`stream` starts with the
    header, then rows from further down the file).
    """
    lines = _Lines(stream)
    first = next(lines, None)
    if first is None:
        return
    delimiter = _delimiter(first)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    header = _unique(next(reader))
    width = len(header)
    for row in reader:
        if not row:
            continue
        line = reader.line_num + line_offset
        values: dict[str, Any] = dict(zip(header, row, strict=False))
        key = values.get("Id", "").strip() or None
        if lines.truncated and lines.done:
            yield Rejected(key, f"line {line}: the file ends inside this row (truncated "
                           "download?): fix the file and load it again", {"line": line, **values})
            continue
        if len(row) != width:
            extra = {"_extra": row[width:]} if len(row) > width else {}
            yield Rejected(key, f"line {line}: {len(row)} columns, header has {width}",
                           {"line": line, **values, **extra})
            continue
        if not key:
            yield Rejected(None, f"line {line}: no Id", {"line": line, **values})
            continue
        values["source_key"] = key
        yield values


class _Lines:
    """Decoded lines of a binary stream; knows whether it ended inside a quoted field."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._lines = iter(stream)
        self.first = True
        self.done = False
        self.truncated = False
        self._quotes = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            raw = next(self._lines)
        except StopIteration:
            self.done = True
            raise
        if self.first:
            raw = raw.removeprefix(BOM)
            self.first = False
        self._quotes += raw.count(b'"')
        if not raw.endswith(b"\n"):  # the last line: cut inside quotes means cut short
            self.done = True
            self.truncated = self._quotes % 2 == 1
        return _decode(raw)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _delimiter(header: str) -> str:
    if "," in header:
        return ","
    return max(";\t|", key=header.count) if any(c in header for c in ";\t|") else ","


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


@contextmanager
def _open_member(path: Path, name: str) -> Iterator[tuple[IO[bytes] | None, str]]:
    """Open `name` from an export folder or .zip (at any depth in the zip), as bytes."""
    if path.is_dir():
        file = path / name
        if not file.is_file():
            yield None, str(file)
            return
        with file.open("rb") as stream:
            yield stream, str(file)
        return
    with zipfile.ZipFile(path) as archive:
        member = next((m for m in archive.namelist() if m.rsplit("/", 1)[-1] == name), None)
        if member is None:
            yield None, f"{path}!{name}"
            return
        with archive.open(member) as raw:
            yield raw, f"{path}!{member}"
