"""Marketing touchpoints (sessions, ad clicks, email opens and clicks, form fills, meetings),
one JSON object per line; the source key is `event_id`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from connectors.jsonl import files, read_jsonl
from connectors.records import DEFAULT_CHUNK, RecordBatch, chunked

SOURCE, ENTITY = "touchpoints", "events"


def read_events(path: str | Path, chunk_size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
    """A JSON-lines file, or every `.jsonl` file in a folder."""
    for file in files(Path(path), (".jsonl",)):
        yield from chunked(SOURCE, ENTITY, str(file), read_jsonl(file, "event_id"), chunk_size)
