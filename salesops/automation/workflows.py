"""Event-driven workflows: what happens after a lead is qualified or its score jumps.

- `convert_qualified_leads` consumes `lead.qualified` outbox events: a lead still
  qualified (not converted, disqualified or deleted) enters the pipeline as a deal through
  `leads.convert`, acting as the lead's owner (an unowned lead waits: its event completes
  with nothing done, and converting it later is a person's decision). Idempotent: a
  converted lead is skipped.
- `notify_score_jumps` reads the new rows of `ml.lead_scores` (the scoring job writes
  there, not to the outbox; `ops.cursors` keeps the last row read) and notifies the owner
  of each lead whose score rose by `threshold` points or more since its previous score,
  through `notify.notify`. Reading, notifying and moving the cursor are one transaction,
  so every jump is told exactly once.

New leads get their owner in the transaction that creates them (`capture_lead`, the
merge: `salesops.domain.assignment`); stage-entry tasks are made by `deals` on entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from salesops import events
from salesops.automation import notify
from salesops.domain import leads
from salesops.domain.audit import Actor
from salesops.domain.users import get_principal
from salesops.models import Cursor, Lead, User

QUALIFIED_TOPIC = "lead.qualified"
SCORE_JUMP_KIND = "lead_score_jump"
DEFAULT_JUMP = 20
_CURSOR = {"source": "workflows", "entity": "lead_score_jumps"}


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


_JUMPS = sa.text("""
    select s.id, s.lead_id, s.score, s.previous, l.owner_id, l.company
    from (select n.id, n.lead_id, n.score,
                 (select p.score from ml.lead_scores p where p.lead_id = n.lead_id
                  and p.id < n.id order by p.id desc limit 1) as previous
          from ml.lead_scores n where n.id > :after) s
    join app.leads l on l.id = s.lead_id
    where l.owner_id is not null and l.deleted_at is null
      and s.score - s.previous >= :threshold
    order by s.id""")


def _cursor(session: Session) -> int:
    session.execute(insert(Cursor).values(**_CURSOR, value="0").on_conflict_do_nothing())
    return int(session.scalars(sa.select(Cursor.value).filter_by(**_CURSOR)
                               .with_for_update()).one())


def pending_scores(engine: sa.Engine) -> int:
    """How many lead scores were written since the last look (cheap, for a sensor)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select count(*) from ml.lead_scores where id > coalesce((select value::bigint "
            "from ops.cursors where source = :source and entity = :entity), 0)"),
            _CURSOR).scalar_one()


def notify_score_jumps(engine: sa.Engine, *, threshold: int = DEFAULT_JUMP,
                       sender_domain: str = "salesops.local") -> int:
    """Notify owners of leads whose score rose by `threshold` or more; returns how many."""
    with Session(engine) as session, session.begin():
        after = _cursor(session)
        last = session.scalar(sa.select(sa.func.max(sa.column("id")))
                              .select_from(sa.table("lead_scores", schema="ml")))
        if last is None or last <= after:
            return 0
        notified = 0
        for jump in session.execute(_JUMPS, {"after": after, "threshold": threshold}).all():
            owner = session.get(User, jump.owner_id)
            if owner is None or not owner.is_active:
                continue
            notified += 1
            name = jump.company or f"Lead {jump.lead_id}"
            notify.notify(session, owner, notify.Notice(
                kind=SCORE_JUMP_KIND, title=f"{name}: score up to {jump.score}",
                body=f"The score of {name} rose from {jump.previous} to {jump.score}.",
                payload={"lead_id": jump.lead_id, "score": jump.score,
                         "previous": jump.previous}),
                f"score_jump:{jump.id}", sender_domain=sender_domain)
        session.execute(sa.update(Cursor).filter_by(**_CURSOR).values(value=str(last)))
        return notified
