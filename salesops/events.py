"""The event outbox (`app.events`).

Producers call `emit` inside the transaction that makes the change, so the event exists
exactly when the change does. Consumers (Dagster sensors, the WebSocket feed) take events
with `claim`, which locks a batch with `FOR UPDATE SKIP LOCKED` so that several consumers
never get the same event, and mark each one complete or failed:

    with events.claim(engine, ["lead.created"], limit=50) as batch:
        for event in batch:
            try:
                handle(event)
                batch.complete(event)
            except Exception as exc:
                batch.fail(event, exc)

Delivery is at least once: if the consumer dies before the block ends, its marks roll
back and the events are claimed again. Handlers must be idempotent. An event that failed
`max_attempts` times is no longer claimed; it stays in the table with its last error.

Every new event also sends a `NOTIFY salesops_events` (delivered on commit) with its id
and topic, for listeners that want to wake up instead of polling: a trigger on
`app.events` does it (migration c5e1f7a3d9b6), so `emit` is one statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.models import Event

CHANNEL = "salesops_events"
DEFAULT_MAX_ATTEMPTS = 10
MAX_ERROR_LENGTH = 4000


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    topic: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


def _jsonable(payload: dict[str, Any] | None) -> dict[str, Any]:
    """Dates, decimals and UUIDs become strings, so any payload fits JSONB."""
    return json.loads(json.dumps(payload or {}, default=str))


_INSERT = sa.insert(Event.__table__).returning(*Event.__table__.c)


def emit(session: Session, topic: str, aggregate_type: str, aggregate_id: str | int,
         payload: dict[str, Any] | None = None) -> Event:
    """Add an event to the caller's transaction; it is committed or rolled back with it.

    The pending changes are flushed first (so the event follows them), then one Core
    INSERT: the unit of work's bookkeeping for an object nobody changes again was a
    tenth of a lead capture's Python calls. Returns the stored row, not attached to the
    session."""
    session.flush()
    row = session.execute(_INSERT, {
        "topic": topic, "aggregate_type": aggregate_type, "aggregate_id": str(aggregate_id),
        "payload": _jsonable(payload)}).one()
    return Event(**row._mapping)


_CLAIM = sa.text("""
    select id, topic, aggregate_type, aggregate_id, payload, created_at, attempts
    from app.events
    where processed_at is null and attempts < :max_attempts
      and (cast(:all_topics as boolean) or topic = any(:topics))
    order by id
    limit :limit
    for update skip locked
""")


class Claim:
    """A batch of events locked by this consumer until the `claim` block ends."""

    def __init__(self, conn: sa.Connection, events: list[OutboxEvent]) -> None:
        #: The claim's transaction: work done on it commits with the marks, atomically.
        self.conn = conn
        self.events = events
        self.completed: list[int] = []
        self.failed: list[int] = []

    def __iter__(self) -> Iterator[OutboxEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def complete(self, event: OutboxEvent | int) -> None:
        event_id = event if isinstance(event, int) else event.id
        self.conn.execute(sa.text(
            "update app.events set processed_at = now(), attempts = attempts + 1, "
            "last_error = null where id = :id"), {"id": event_id})
        self.completed.append(event_id)

    def fail(self, event: OutboxEvent | int, error: BaseException | str) -> None:
        event_id = event if isinstance(event, int) else event.id
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.conn.execute(sa.text(
            "update app.events set attempts = attempts + 1, last_error = :error "
            "where id = :id"), {"id": event_id, "error": message[:MAX_ERROR_LENGTH]})
        self.failed.append(event_id)


@contextmanager
def claim(engine: sa.Engine, topics: Sequence[str] | None = None, limit: int = 100, *,
          max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Iterator[Claim]:
    """Lock up to `limit` unprocessed events of `topics` (None: every topic), oldest first.

    The marks made on the batch are committed when the block ends normally and rolled back
    (the events released untouched) when it raises.
    """
    if isinstance(topics, str):
        topics = [topics]
    topic_list = list(topics or [])
    with engine.connect() as conn, conn.begin():
        rows = conn.execute(_CLAIM, {"max_attempts": max_attempts, "limit": limit,
                                     "all_topics": topics is None, "topics": topic_list})
        yield Claim(conn, [OutboxEvent(*row) for row in rows])


def process(engine: sa.Engine, topics: Sequence[str] | None,
            handler: Callable[[OutboxEvent], object], limit: int = 100, *,
            max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> tuple[int, int]:
    """Claim a batch and run `handler` on each event; returns (completed, failed)."""
    with claim(engine, topics, limit, max_attempts=max_attempts) as batch:
        for event in batch:
            try:
                handler(event)
            except Exception as exc:  # one bad event must not block the others
                batch.fail(event, exc)
            else:
                batch.complete(event)
        return len(batch.completed), len(batch.failed)


def pending(engine: sa.Engine, topics: Sequence[str] | None = None, *,
            max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
    """How many events wait to be claimed (cheap enough for a sensor's skip check)."""
    if isinstance(topics, str):
        topics = [topics]
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select count(*) from app.events where processed_at is null "
            "and attempts < :max_attempts and (cast(:all_topics as boolean) "
            "or topic = any(:topics))"),
            {"max_attempts": max_attempts, "all_topics": topics is None,
             "topics": list(topics or [])}).scalar_one()
