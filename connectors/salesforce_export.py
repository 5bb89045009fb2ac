"""Salesforce weekly data export: a folder or .zip of one CSV per object.

Every column is kept as the string it was, custom `*__c` fields included, so a new field in
the org never needs a code change. The source key is the 18-character `Id`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from connectors.records import DEFAULT_CHUNK, RecordBatch, Rejected, chunked

SOURCE = "salesforce"

#: Export file stem -> raw entity, for the objects salesops merges.
OBJECTS: dict[str, str] = {
    "User": "user", "Account": "account", "Contact": "contact", "Lead": "lead",
    "Opportunity": "opportunity", "OpportunityHistory": "opportunity_history",
    "Campaign": "campaign", "CampaignMember": "campaign_member", "Task": "task",
}

# Long text fields (descriptions, email bodies) exceed csv's 128 KiB default.
csv.field_size_limit(2**31 - 1)


def entity_name(stem: str) -> str:
    """`OpportunityHistory` -> `opportunity_history`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower()


def read_export(path: str | Path, objects: Iterable[str] | None = None,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
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
            yield from chunked(SOURCE, entity, origin, read_csv(stream), chunk_size)


def read_csv(stream: IO[str]) -> Iterator[dict[str, Any] | Rejected]:
    """Rows of one export CSV as records keyed by `Id`, or Rejected with the line number."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header:
        return
    width = len(header)
    for row in reader:
        if not row:
            continue
        line = reader.line_num
        if len(row) != width:
            yield Rejected(None, f"line {line}: {len(row)} columns, header has {width}",
                           {"line": line, "values": row})
            continue
        record: dict[str, Any] = dict(zip(header, row, strict=True))
        key = record.get("Id", "").strip()
        if not key:
            yield Rejected(None, f"line {line}: no Id", record)
            continue
        record["source_key"] = key
        yield record


@contextmanager
def _open_member(path: Path, name: str) -> Iterator[tuple[IO[str] | None, str]]:
    """Open `name` from an export folder or .zip (at any depth in the zip), as UTF-8 text.

    Undecodable bytes become U+FFFD rather than failing the whole file.
    """
    if path.is_dir():
        file = path / name
        if not file.is_file():
            yield None, str(file)
            return
        with file.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
            yield stream, str(file)
        return
    with zipfile.ZipFile(path) as archive:
        member = next((m for m in archive.namelist() if m.rsplit("/", 1)[-1] == name), None)
        if member is None:
            yield None, f"{path}!{name}"
            return
        with archive.open(member) as raw:
            yield (io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""),
                   f"{path}!{member}")
