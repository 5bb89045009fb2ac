"""The merge's bulk writes: foreign keys checked set-based after the inserts, as safely as
PostgreSQL's per-row triggers (a dangling key fails the merge, a referenced row is locked
against concurrent deletes until the merge commits)."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from salesops.merge import MergeError, _references_checked_at_end, _Step

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
