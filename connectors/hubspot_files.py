"""HubSpot CRM API v3 list responses saved as files: `<object>/page-0001.json`, ...

Each result is kept whole (id, properties, timestamps, archived); the source key is the
object id. A page that is not valid JSON becomes one Rejected naming the file, and the
other pages still load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from connectors.records import DEFAULT_CHUNK, RecordBatch, Rejected, chunked

SOURCE = "hubspot"
OBJECTS = ("contacts", "companies", "deals")


def read_folder(path: str | Path, objects: Iterable[str] = OBJECTS,
                chunk_size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
    """Yield batches per object folder under `path` (the export's `hubspot/` folder)."""
    path = Path(path)
    for name in objects:
        folder = path / name
        if folder.is_dir():
            yield from chunked(SOURCE, name, str(folder), read_pages(folder), chunk_size)


def read_pages(folder: Path) -> Iterator[dict[str, Any] | Rejected]:
    for page in sorted(folder.glob("*.json")):
        try:
            body = json.loads(page.read_bytes())
            results = body["results"]
            if not isinstance(results, list):
                raise TypeError("results is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            yield Rejected(None, f"{page.name}: not a list response: {exc}", {"file": str(page)})
            continue
        for index, result in enumerate(results):
            key = result.get("id") if isinstance(result, dict) else None
            if key in (None, ""):
                yield Rejected(None, f"{page.name}: result {index} has no id",
                               {"file": str(page), "index": index, "value": result})
                continue
            yield {**result, "source_key": str(key)}
