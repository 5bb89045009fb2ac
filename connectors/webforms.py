"""Web-form submissions: JSON lines (the live format), or a CSV export of past submissions;
the source key is `submission_id`.

A CSV row is shaped like a JSON line: `email`, `first_name`, ... (or `fields.email`) go
under `fields`, `utm_source` (or `utm.source`) under `utm`, `consent_marketing`,
`consent_text`, `consent_given_at` under `consent`; other columns stay as they are. A row
without a submission id, or with a consent that is not yes or no, is quarantined with its
line number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.jsonl import files, numbered_jsonl
from connectors.records import DEFAULT_CHUNK, RecordBatch, Rejected, chunked

SOURCE, ENTITY = "webforms", "submissions"
SUFFIXES = (".jsonl", ".csv")
FIELDS = ("email", "first_name", "last_name", "company", "phone", "job_title", "message",
          "country")
UTM = ("source", "medium", "campaign", "content", "term")
_YES = {"true": True, "yes": True, "y": True, "1": True, "x": True,
        "false": False, "no": False, "n": False, "0": False}

Numbered = Iterator[tuple[int, dict[str, Any] | Rejected]]


def read_submissions(path: str | Path, chunk_size: int = DEFAULT_CHUNK) -> Iterator[RecordBatch]:
    """A .jsonl or .csv file, or every such file in a folder."""
    for file, items in submissions(Path(path)):
        yield from chunked(SOURCE, ENTITY, str(file), (item for _, item in items), chunk_size)


def submissions(path: Path) -> Iterator[tuple[Path, Numbered]]:
    """Each file under `path` with its (line number, record or Rejected)."""
    for file in files(path, SUFFIXES):
        if file.suffix.lower() == ".csv":
            yield file, _csv(file)
        else:
            yield file, numbered_jsonl(file, "submission_id")


def _csv(path: Path) -> Numbered:
    with path.open(encoding="utf-8-sig", newline="", errors="replace") as stream:
        reader = csv.DictReader(stream)
        start = 2
        for row in reader:
            line, start = start, reader.line_num + 1
            if None in row:  # more cells than the header
                yield line, Rejected(row.get("submission_id"),
                                     f"line {line}: more values than columns",
                                     {"line": line, **{k: v for k, v in row.items() if k}})
                continue
            yield line, _row(line, {(k or "").strip(): (v or "").strip() for k, v in row.items()})


def _row(line: int, row: dict[str, str]) -> dict[str, Any] | Rejected:
    record: dict[str, Any] = {"fields": {}, "utm": {}}
    consent: dict[str, Any] = {}
    for column, value in row.items():
        name = column.lower().replace(".", "_")
        if name.removeprefix("fields_") in FIELDS:
            record["fields"][name.removeprefix("fields_")] = value or None
        elif name.startswith("utm_") and name[4:] in UTM:
            record["utm"][name[4:]] = value or None
        elif name in ("consent_marketing", "consent_text", "consent_given_at"):
            consent[name.removeprefix("consent_")] = value or None
        else:
            record[column] = value or None
    if consent:
        answer = (consent.get("marketing") or "").lower()
        if answer and answer not in _YES:
            return Rejected(record.get("submission_id"), f"line {line}: consent_marketing "
                            f"{consent['marketing']!r} is not yes or no", {"line": line, **row})
        consent["marketing"] = _YES.get(answer)
        record["consent"] = consent
    if not record.get("submission_id"):
        return Rejected(None, f"line {line}: no submission_id", {"line": line, **row})
    return {**record, "source_key": record["submission_id"]}
