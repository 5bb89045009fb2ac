"""Event-driven workflows: what happens after a lead is qualified or its score jumps.

- `convert_qualified_leads` consumes `lead.qualified` outbox events: a lead still
  qualified (not converted, disqualified or deleted) enters the pipeline as a deal through
  `leads.convert`, acting as the lead's owner (an unowned lead waits: its event completes
  with nothing done, and converting it later is a person's decision). Idempotent: a
  converted lead is skipped.
- `notify_score_jumps` consumes `lead.score_changed` outbox events (the lead scorer emits
  one when a score moves by its threshold) and notifies the owner of each lead whose score
  rose, through `notify.notify`, in the transaction that marks the event done: every
  jump is told exactly once.

New leads get their owner in the transaction that creates them (`capture_lead`, the
merge: `salesops.domain.assignment`); stage-entry tasks are made by `deals` on entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events
from salesops.automation import notify
from salesops.domain import leads
from salesops.domain.audit import Actor
from salesops.domain.users import get_principal
from salesops.models import Lead, User

QUALIFIED_TOPIC = "lead.qualified"
#: Emitted by ml.lead_scoring when a lead's score moves by its change threshold.
SCORE_CHANGED_TOPIC = "lead.score_changed"
SCORE_JUMP_KIND = "lead_score_jump"


@dataclass(frozen=True)
class ConversionReport:
    converted: int
    skipped: int
    failed: int


def _convert(engine: sa.Engine, lead_id: int) -> bool:
    """Convert one qualified lead; False when there is nothing to do."""
    with Session(engine) as session, session.begin():
        lead = session.get(Lead, lead_id, with_for_update=True)
        if (lead is None or lead.deleted_at is not None or lead.status != "qualified"
                or lead.owner_id is None):
            return False
        actor = Actor(get_principal(session, lead.owner_id), request_id="workflow:qualified")
        leads.convert(session, actor, lead_id)
        return True


def convert_qualified_leads(engine: sa.Engine, limit: int = 100) -> ConversionReport:
    """Turn the leads of waiting `lead.qualified` events into deals."""
    outcome = {"converted": 0, "skipped": 0}

    def handle(event: events.OutboxEvent) -> None:
        outcome["converted" if _convert(engine, int(event.aggregate_id)) else "skipped"] += 1

    _, failed = events.process(engine, [QUALIFIED_TOPIC], handle, limit)
    return ConversionReport(outcome["converted"], outcome["skipped"], failed)


def notify_score_jumps(engine: sa.Engine, *, limit: int = 100,
                       sender_domain: str = "salesops.local") -> int:
    """Notify the owners of leads whose score rose (waiting `lead.score_changed` events);
    returns how many were told."""
    notified = 0
    with events.claim(engine, [SCORE_CHANGED_TOPIC], limit) as batch, \
            Session(bind=batch.conn) as session:
        for event in batch:
            jump = event.payload
            owner = session.get(User, jump["owner_id"]) if jump.get("owner_id") else None
            if jump.get("change", 0) > 0 and owner is not None and owner.is_active:
                lead_id = jump["lead_id"]
                name = session.scalar(sa.select(Lead.company).where(Lead.id == lead_id))
                name = name or f"Lead {lead_id}"
                notify.notify(session, owner, notify.Notice(
                    kind=SCORE_JUMP_KIND, title=f"{name}: score up to {jump['score']}",
                    body=f"The score of {name} rose from {jump['previous_score']} to "
                         f"{jump['score']}.",
                    payload={"lead_id": lead_id, "score": jump["score"],
                             "previous": jump["previous_score"]}),
                    f"score_jump:{event.id}", sender_domain=sender_domain)
                notified += 1
            batch.complete(event)
        session.flush()
    return notified
