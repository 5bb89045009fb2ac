"""Lead capture on psycopg's async connection (the API's path, `capture_lead_async`): the
same rows as the SQLAlchemy path, the same rules, one transaction of its own."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.db import async_pool
from salesops.domain.assignment import save_rule
from salesops.domain.errors import InvalidInput, RateLimited
from salesops.domain.leads import capture_lead, capture_lead_async
from salesops.domain.users import create_user
from tests.conftest import empty_data_tables
from tests.core.test_leads import counts, submission


def differs(column: str) -> bool:
    """What differs between two captures of the same submission: the server's clock, and
    the sealed phone (a fresh nonce each time; its blind index does not change)."""
    return column == "phone" or (column.endswith("_at") and column != "consent_at")


def capture_async(database_url: str, *, before_commit=None, **overrides):
    async def main():
        async with async_pool(database_url, max_size=1) as pool, \
                pool.connection() as conn:
            try:
                return await capture_lead_async(conn, before_commit=before_commit,
                                                **submission(**overrides))
            finally:  # committed or rolled back: the connection is free again
                assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    return asyncio.run(main())


def stored(engine: sa.Engine) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        return {table: [{k: v for k, v in row.items() if not differs(k)}
                        for row in conn.execute(sa.text(
                            f"select * from app.{table} order by 1")).mappings()]
                for table in ("contacts", "leads", "contact_sources", "events", "audit_logs",
                              "lead_assignments")}


def test_async_capture_stores_what_the_sync_one_does(clean_db, database_url):
    with Session(clean_db) as session, session.begin():
        by_sync = capture_lead(session, **submission(), request_id="r1", ip="192.0.2.1")
    expected = stored(clean_db)
    empty_data_tables(clean_db)
    by_async = capture_async(database_url, request_id="r1", ip="192.0.2.1")
    assert by_async == by_sync and by_async.outcome == "created"
    assert stored(clean_db) == expected
    audit = expected["audit_logs"][0]
    assert (audit["action"], audit["request_id"], str(audit["ip"])) == \
        ("capture_created", "r1", "192.0.2.1")


def test_async_resubmissions_and_assignment(clean_db, database_url):
    with Session(clean_db) as session, session.begin():
        rep = create_user(session, "rep@example.org", "Rep", None, "sales_rep").id
        save_rule(session, "everyone to the rep", user_ids=[rep])
    first = capture_async(database_url)
    assert (first.outcome, first.owner_id) == ("created", rep)  # the lock, then the rule
    assert capture_async(database_url).outcome == "unchanged"
    again = capture_async(database_url, company="Acme AG")
    assert (again.id, again.outcome, again.owner_id) == (first.id, "updated", rep)
    with clean_db.connect() as conn:
        lead = conn.execute(sa.text("select company, version from app.leads")).one()
        audit = conn.execute(sa.text(
            "select before, after from app.audit_logs where action = 'capture_updated'")).one()
        topics = conn.execute(sa.text("select topic from app.events order by id")).scalars()
        assert list(topics) == ["lead.created", "lead.updated"]
    assert tuple(lead) == ("Acme AG", 3)  # created 1, assigned 2, updated 3
    assert audit.before == {"company": "Acme GmbH"}
    assert audit.after == {"company": "Acme AG", "owner_id": rep}


def test_async_capture_stores_nothing_when_refused(clean_db, database_url):
    with pytest.raises(InvalidInput, match="not a valid email"):
        capture_async(database_url, email="not an email")
    assert counts(clean_db) == (0, 0, 0, 0)

    async def over_the_limit():
        raise RateLimited("Too many requests; try again in 3 seconds.", retry_after=3)

    with pytest.raises(RateLimited):  # raised while the statements were out: rolled back
        capture_async(database_url, before_commit=over_the_limit())
    assert counts(clean_db) == (0, 0, 0, 0)
