"""The merge's bulk writes: foreign keys checked set-based after the inserts, as safely as
PostgreSQL's per-row triggers (a dangling key fails the merge, a referenced row is locked
against concurrent deletes until the merge commits)."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from salesops import merge
from salesops.loading import load_batch
from salesops.merge import MergeError, _references_checked_at_end, _Step, merge_entity

TABLES = ("app.contacts", "app.contact_sources")


def _account(conn: sa.Connection) -> int:
    return conn.execute(sa.text("insert into app.accounts (name) values ('Acme')"
                                " returning id")).scalar_one()


def test_written_keys_are_checked_and_their_rows_held(clean_db: sa.Engine):
    with clean_db.begin() as conn:
        account = _account(conn)
    with clean_db.begin() as conn:
        step = _Step(conn.connection.driver_connection.cursor())
        with _references_checked_at_end(step, TABLES):
            assert step.run("show session_replication_role") == [("replica",)]  # no triggers
            contact = step.run(f"insert into app.contacts (first_name, account_id)"
                               f" values ('Jane', {account}) returning id")[0][0]
            step.run(f"insert into app.contact_sources (contact_id, source, source_key)"
                     f" values ({contact}, 'test', 'k1')")
        assert step.run("show session_replication_role") == [("origin",)]
        # The account is held as the trigger would hold it: a concurrent delete must wait.
        with clean_db.connect() as other:
            other.execute(sa.text("set lock_timeout = '200ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                other.execute(sa.text(f"delete from app.accounts where id = {account}"))
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from app.contact_sources")).scalar() == 1


def test_a_dangling_key_fails_the_merge_and_keeps_nothing(clean_db: sa.Engine):
    with pytest.raises(MergeError, match="fk_contacts_account_id_accounts"), \
            clean_db.begin() as conn:
        step = _Step(conn.connection.driver_connection.cursor())
        with _references_checked_at_end(step, TABLES):
            step.run("insert into app.contacts (first_name, account_id) values ('Ghost', -1)")
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from app.contacts")).scalar() == 0


def test_without_the_privilege_the_triggers_check_each_row(clean_db: sa.Engine):
    with clean_db.begin() as conn:
        conn.execute(sa.text("create role merge_test_writer"))
        conn.execute(sa.text("grant usage on schema app to merge_test_writer;"
                             " grant all on all tables in schema app to merge_test_writer;"
                             " grant usage on all sequences in schema app to merge_test_writer"))
    try:
        with pytest.raises(psycopg.errors.ForeignKeyViolation), clean_db.begin() as conn:
            conn.execute(sa.text("set local role merge_test_writer"))
            step = _Step(conn.connection.driver_connection.cursor())
            with _references_checked_at_end(step, TABLES):
                assert step.run("show session_replication_role") == [("origin",)]
                step.run("insert into app.contacts (first_name, account_id)"
                         " values ('Ghost', -1)")
    finally:
        with clean_db.begin() as conn:
            conn.execute(sa.text("drop owned by merge_test_writer; drop role merge_test_writer"))


def _indexes(engine: sa.Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(
            "select indexrelid::regclass::text, pg_get_indexdef(indexrelid) from pg_index"
            " where indrelid in ('app.contacts'::regclass, 'app.contact_sources'::regclass)")))


def _people(engine: sa.Engine) -> set[frozenset[str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select array_agg(source_key) from app.contact_sources"
                                    " group by contact_id")).scalars()
        return {frozenset(keys) for keys in rows}


def _contact(key: str, email: str = "", phone: str = "", last: str = "") -> dict:
    return {"id": key, "source_key": key, "createdAt": "2025-01-02T03:04:05Z",
            "properties": {"email": email, "phone": phone, "firstname": "Ann",
                           "lastname": last, "company": "Acme"}}


RECORDS = [_contact("1", "ann@acme.test", "+1 415 555 0100", "Lee"),
           _contact("2", " ANN@acme.test", last="Lee"),
           _contact("3", phone="(415) 555-0100"),
           _contact("4", "bo@acme.test", "+1 212 555 0199", "Ray"),
           _contact("5", last="Le")]


def test_a_first_bulk_load_rebuilds_the_indexes_and_merges_alike(clean_db: sa.Engine,
                                                                  truncate_data, monkeypatch):
    indexes = _indexes(clean_db)
    load_batch(clean_db, "hubspot", "contacts", "test", RECORDS)
    merge_entity(clean_db, "contacts")  # 5 records: below BULK_MIN_ROWS, indexes kept
    row_by_row = _people(clean_db)
    truncate_data()
    monkeypatch.setattr(merge, "BULK_MIN_ROWS", 1)
    load_batch(clean_db, "hubspot", "contacts", "test", RECORDS)
    statements: list[str] = []
    run = merge._Step.run
    monkeypatch.setattr(merge._Step, "run",
                        lambda self, sql: statements.append(sql) or run(self, sql))
    created = merge_entity(clean_db, "contacts").created
    assert any(s.startswith("drop index") for s in statements)  # the bulk path ran
    assert _people(clean_db) == row_by_row and created == len(row_by_row)
    assert frozenset("4") in row_by_row and {"1", "2", "3"} <= max(row_by_row, key=len)
    assert _indexes(clean_db) == indexes  # every index back, as defined
    again = merge_entity(clean_db, "contacts")  # a re-run changes nothing
    assert (again.created, again.updated) == (0, 0)
