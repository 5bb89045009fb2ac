"""Sentiment trends per contact and account, and the alert when one drops.

The trend is the view `ml.sentiment_trends` (migration a7d3e5c1b9f2): per contact and per
account, the mean score of its newest interactions against the mean of those before. A drop
of at least DROP_THRESHOLD (scores run from -1 to 1) over at least MIN_PREVIOUS earlier
interactions emits one `sentiment.dropped` outbox event, once per newest interaction: a
re-run of scoring never repeats an alert, and a later interaction that keeps the drop does.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events

TOPIC = "sentiment.dropped"
DROP_THRESHOLD = 0.5
MIN_PREVIOUS = 2

_DROPS = sa.text("""
    select t.entity_type, t.entity_id, t.recent_score, t.previous_score, t.change,
           t.recent_interactions, t.previous_interactions, t.last_interaction_id,
           t.last_interaction_at, t.last_label
    from ml.sentiment_trends as t
    where t.change <= -cast(:threshold as double precision)
      and t.previous_interactions >= :min_previous
      and not exists (
        select 1 from app.events as e
        where e.topic = :topic and e.aggregate_type = t.entity_type
          and e.aggregate_id = t.entity_id::text
          and e.payload ->> 'last_interaction_id' = t.last_interaction_id::text)
    order by t.entity_type, t.entity_id
""")


@dataclass(frozen=True)
class Drop:
    entity_type: str  # contact or account
    entity_id: int
    payload: dict


def new_drops(conn: sa.Connection, threshold: float = DROP_THRESHOLD,
              min_previous: int = MIN_PREVIOUS) -> list[Drop]:
    """Significant drops not alerted yet."""
    rows = conn.execute(_DROPS, {"threshold": threshold, "min_previous": min_previous,
                                 "topic": TOPIC}).mappings()
    return [Drop(r["entity_type"], int(r["entity_id"]),
                 {k: v for k, v in r.items() if k not in ("entity_type", "entity_id")})
            for r in rows]


def alert_drops(engine: sa.Engine, threshold: float = DROP_THRESHOLD,
                min_previous: int = MIN_PREVIOUS) -> int:
    """Emit one outbox event per new significant drop, in one transaction; how many."""
    with Session(engine) as session, session.begin():
        # one alerting transaction at a time, so two scoring runs never alert twice
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(TOPIC))))
        drops = new_drops(session.connection(), threshold, min_previous)
        for drop in drops:
            events.emit(session, TOPIC, drop.entity_type, drop.entity_id,
                        {**drop.payload, "threshold": threshold})
    return len(drops)
