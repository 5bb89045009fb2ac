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
- `notify_sentiment_drops` consumes `sentiment.dropped` outbox events (emitted by
  ml.sentiment.trends when a contact's or account's recent emails turn negative) and
  notifies the owner of that contact or account the same way, once per event.

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
from salesops.models import Account, Contact, Lead, User

QUALIFIED_TOPIC = "lead.qualified"
#: Emitted by ml.lead_scoring when a lead's score moves by its change threshold.
SCORE_CHANGED_TOPIC = "lead.score_changed"
SCORE_JUMP_KIND = "lead_score_jump"
#: Emitted by ml.sentiment.trends when a contact's or account's sentiment drops.
SENTIMENT_DROPPED_TOPIC = "sentiment.dropped"
SENTIMENT_DROP_KIND = "sentiment_drop"


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


def _sentiment_subject(session: Session, entity_type: str, entity_id: int
                       ) -> tuple[str, User | None]:
    """The dropped contact's or account's name and its owner."""
    if entity_type == "account":
        account = session.get(Account, entity_id)
        if account is None or account.deleted_at is not None:
            return f"Account {entity_id}", None
        owner = session.get(User, account.owner_id) if account.owner_id else None
        return account.name, owner
    contact = session.get(Contact, entity_id)
    if contact is None or contact.deleted_at is not None:
        return f"Contact {entity_id}", None
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) \
        or contact.email or f"Contact {entity_id}"
    owner = session.get(User, contact.owner_id) if contact.owner_id else None
    return name, owner


def notify_sentiment_drops(engine: sa.Engine, *, limit: int = 100,
                           sender_domain: str = "salesops.local") -> int:
    """Notify the owners of contacts and accounts whose sentiment dropped (waiting
    `sentiment.dropped` events), in the transaction that completes each event; returns
    how many were told. Nobody to tell (no owner, inactive, deleted): the event completes."""
    notified = 0
    with events.claim(engine, [SENTIMENT_DROPPED_TOPIC], limit) as batch, \
            Session(bind=batch.conn) as session:
        for event in batch:
            drop = event.payload
            name, owner = _sentiment_subject(session, event.aggregate_type,
                                             int(event.aggregate_id))
            if owner is not None and owner.is_active:
                recent, previous = drop.get("recent_score"), drop.get("previous_score")
                notify.notify(session, owner, notify.Notice(
                    kind=SENTIMENT_DROP_KIND, title=f"{name}: sentiment dropped",
                    body=f"The tone of the latest emails with {name} fell from "
                         f"{previous:+.2f} to {recent:+.2f} (scores run from -1 to 1).",
                    payload={"entity_type": event.aggregate_type,
                             "entity_id": int(event.aggregate_id), "recent_score": recent,
                             "previous_score": previous,
                             "last_interaction_id": drop.get("last_interaction_id")}),
                    f"sentiment_drop:{event.id}", sender_domain=sender_domain)
                notified += 1
            batch.complete(event)
        session.flush()
    return notified
