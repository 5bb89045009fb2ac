"""JSON lines files (one object per line), shared by the web-form and touchpoint readers.

A line that is not a JSON object, or that has no key, becomes a Rejected with its line
number; the lines after it still load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.records import Rejected


def files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """`path` itself, or the files directly in the folder `path` with one of `suffixes`
    (a daily drop folder: `<source>/2026-01-05/*.jsonl`), in name order; nothing when
    `path` does not exist."""
    if not path.is_dir():
        return [path] if path.exists() else []
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def read_jsonl(path: Path, key_field: str) -> Iterator[dict[str, Any] | Rejected]:
    for _, item in numbered_jsonl(path, key_field):
        yield item


def numbered_jsonl(path: Path, key_field: str) -> Iterator[tuple[int, dict[str, Any] | Rejected]]:
    """(line number, record or Rejected) of each non-blank line."""
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            try:
                record = json.loads(raw)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                yield number, Rejected(None, f"line {number}: invalid JSON: {exc}",
                                       {"line": number, "text": text})
                continue
            if not isinstance(record, dict):
                yield number, Rejected(None, f"line {number}: not a JSON object",
                                       {"line": number, "text": text})
                continue
            key = record.get(key_field)
            if key in (None, ""):
                yield number, Rejected(None, f"line {number}: no {key_field}", record)
                continue
            yield number, {**record, "source_key": str(key)}
