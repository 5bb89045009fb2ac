"""Past web-form exports (CSV or JSON lines) through the live endpoint's lead capture.

Each chunk of submissions is one transaction: loaded into `raw.webforms__submissions` (as
the live path keeps them) and, in the same transaction, each one captured by
`salesops.domain.leads.capture_lead`, the rule the API's form endpoint calls: contact
matched by e-mail, consent kept with its text and time, the lead keyed by submission id, so
a submission loaded twice changes nothing. A honeypot answer is dropped, as the endpoint
drops it. A row that cannot be read is quarantined with its file and line number; one that
capture refuses (no valid e-mail, a date that is not ISO 8601) is kept in `raw`, as it came,
and quarantined at the `capture` stage with its line number. The other rows load.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from connectors import webforms
from connectors.records import Rejected
from salesops.domain.errors import DomainError
from salesops.domain.leads import capture_lead, is_honeypot
from salesops.loading import LoadResult, canonical_json, load_batch

CHUNK = 500


@dataclass
class BackfillResult:
    rows: int = 0
    new_in_raw: int = 0
    leads_created: int = 0
    leads_updated: int = 0
    unchanged: int = 0
    ignored_honeypot: int = 0
    quarantined: int = 0


class CaptureRefused(ValueError):
    """A submission the capture rule cannot take; the message says why."""


def backfill_webforms(engine: sa.Engine, path: Path,
                      on_chunk: Callable[[int], None] | None = None) -> BackfillResult:
    """Load and capture every submission of a file (or of the files in a folder)."""
    total = BackfillResult()
    for file, items in webforms.submissions(path):
        while chunk := list(islice(items, CHUNK)):
            _chunk(engine, str(file), chunk, total)
            if on_chunk:
                on_chunk(len(chunk))
    return total


def _chunk(engine: sa.Engine, origin: str,
           chunk: list[tuple[int, dict[str, Any] | Rejected]], total: BackfillResult) -> None:
    records = [(line, item) for line, item in chunk if not isinstance(item, Rejected)
               and not is_honeypot(item.get("website"), (item.get("fields") or {}).get("website"))]
    read_rejects = [item for _, item in chunk if isinstance(item, Rejected)]
    total.ignored_honeypot += len(chunk) - len(records) - len(read_rejects)
    refused: list[Rejected] = []

    def capture(conn: sa.Connection, result: LoadResult) -> None:
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            for line, record in records:
                try:
                    with session.begin_nested():
                        outcome = _capture(session, record)
                except (DomainError, CaptureRefused) as exc:
                    refused.append(Rejected(record["source_key"], f"line {line}: {exc}",
                                            {"file": origin, "line": line, **record}))
                    continue
                setattr(total, outcome, getattr(total, outcome) + 1)
            session.commit()  # releases its savepoint; the batch commits the rest
        _quarantine(conn, result.batch_id, refused)

    result = load_batch(engine, webforms.SOURCE, webforms.ENTITY, origin,
                        (record for _, record in records),
                        [Rejected(r.source_key, r.reason, {"file": origin, **r.record})
                         for r in read_rejects], after=capture)
    total.rows += len(chunk)
    total.new_in_raw += result.rows_loaded
    total.quarantined += result.rows_rejected + len(refused)


def _capture(session: Session, record: dict[str, Any]) -> str:
    """Capture one submission; which of created, updated or unchanged it was."""
    fields = record.get("fields") or {}
    consent = record.get("consent") or {}
    utm = record.get("utm") if isinstance(record.get("utm"), dict) else {}
    lead = capture_lead(
        session, email=str(fields.get("email") or ""), first_name=fields.get("first_name"),
        last_name=fields.get("last_name"), company=fields.get("company"),
        phone=fields.get("phone"), job_title=fields.get("job_title"),
        country=fields.get("country"), message=fields.get("message"),
        page_url=record.get("page_url"), utm=utm,
        consent=({"given": consent.get("marketing"), "text": consent.get("text"),
                  "at": _when(consent.get("given_at"), "consent given_at")}
                 if consent else None),
        form_key=str(record.get("form_key") or "backfill"),
        submission_id=record["source_key"],
        submitted_at=_when(record.get("submitted_at"), "submitted_at"))
    return {"created": "leads_created", "updated": "leads_updated"}.get(lead.outcome,
                                                                        "unchanged")


def _when(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise CaptureRefused(f"{name} {value!r} is not an ISO 8601 date and time "
                             "(2025-03-04T10:15:00Z)") from None


def _quarantine(conn: sa.Connection, batch_id: uuid.UUID, refused: list[Rejected]) -> None:
    """Capture's refusals, in the batch's transaction, next to the reader's rejects."""
    if refused:
        conn.execute(sa.text(
            "insert into ops.rejected_rows (batch_id, source, entity, stage, source_key, "
            "reason, record) values (:b, :s, :e, 'capture', :k, :r, cast(:rec as jsonb))"),
            [{"b": batch_id, "s": webforms.SOURCE, "e": webforms.ENTITY, "k": r.source_key,
              "r": r.reason, "rec": canonical_json(r.record).decode()} for r in refused])
