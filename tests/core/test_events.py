"""The outbox: emit in the caller's transaction, claim with SKIP LOCKED, complete or fail."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events


def _emit(engine, n, topic="lead.created"):
    with Session(engine) as session, session.begin():
        return [events.emit(session, topic, "lead", i, {"i": i}).id for i in range(n)]


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select id, topic, processed_at is not null, attempts, last_error "
            "from app.events order by id")).all()


def test_emit_is_part_of_the_callers_transaction(clean_db):
    with Session(clean_db) as session, session.begin():
        event = events.emit(session, "lead.created", "lead", 1, {"on": date(2025, 1, 2)})
        assert event.id and event.aggregate_id == "1"
        assert event.payload == {"on": "2025-01-02"}
    with pytest.raises(RuntimeError), Session(clean_db) as session, session.begin():
        events.emit(session, "lead.created", "lead", 2)
        raise RuntimeError("the change failed")
    assert [r[1] for r in _rows(clean_db)] == ["lead.created"]


def test_emit_notifies_listeners_on_commit(clean_db):
    with clean_db.connect() as listener:
        listener.execute(sa.text(f"listen {events.CHANNEL}"))
        listener.commit()
        (event_id,) = _emit(clean_db, 1)
        raw = listener.connection.driver_connection
        notes = list(raw.notifies(timeout=2, stop_after=1))
    assert notes and f'"id": {event_id}' in notes[0].payload


def test_claim_complete_and_fail(clean_db):
    ids = _emit(clean_db, 3)
    _emit(clean_db, 1, topic="deal.won")
    with events.claim(clean_db, ["lead.created"], limit=10) as batch:
        assert [e.id for e in batch] == ids
        assert batch.events[0].payload == {"i": 0}
        batch.complete(batch.events[0])
        batch.fail(batch.events[1], ValueError("boom"))
    rows = {r[0]: r[2:] for r in _rows(clean_db)}
    assert rows[ids[0]] == (True, 1, None)
    assert rows[ids[1]] == (False, 1, "ValueError: boom")
    assert rows[ids[2]] == (False, 0, None)
    with events.claim(clean_db, ["lead.created"]) as batch:
        assert [e.id for e in batch] == ids[1:]  # failed ones come back, done ones do not
    assert events.pending(clean_db) == 3
    assert events.pending(clean_db, ["deal.won"]) == 1


def test_claim_rolls_back_when_the_consumer_crashes(clean_db):
    _emit(clean_db, 2)
    with pytest.raises(KeyError), events.claim(clean_db, None) as batch:
        batch.complete(batch.events[0])
        raise KeyError("consumer died")
    assert all(not r[2] and r[3] == 0 for r in _rows(clean_db))


def test_concurrent_consumers_never_share_an_event(clean_db):
    ids = _emit(clean_db, 6)
    inside, release = threading.Event(), threading.Event()
    seen: dict[str, list[int]] = {}

    def first():
        with events.claim(clean_db, ["lead.created"], limit=4) as batch:
            seen["first"] = [e.id for e in batch]
            inside.set()
            release.wait(10)
            for e in batch:
                batch.complete(e)

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    with events.claim(clean_db, ["lead.created"], limit=10) as batch:
        seen["second"] = [e.id for e in batch]  # skips the locked four, does not wait
    release.set()
    t.join()
    assert seen["first"] == ids[:4] and seen["second"] == ids[4:]


def test_process_and_max_attempts(clean_db):
    ids = _emit(clean_db, 3)

    def handler(event):
        if event.payload["i"] == 1:
            raise RuntimeError("poison")

    assert events.process(clean_db, ["lead.created"], handler) == (2, 1)
    assert events.process(clean_db, ["lead.created"], handler, max_attempts=2) == (0, 1)
    assert events.process(clean_db, ["lead.created"], handler, max_attempts=2) == (0, 0)
    assert [r[2:] for r in _rows(clean_db) if r[0] == ids[1]] == [
        (False, 2, "RuntimeError: poison")]
