"""The operational schema as migrated: constraints a careful DBA would want actually hold."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from salesops import migrate
from salesops.models import Base


def test_migrated_database_is_at_head(database_url):
    assert migrate.current(database_url) == migrate.head()


def test_every_model_table_exists(engine):
    inspector = sa.inspect(engine)
    for table in Base.metadata.sorted_tables:
        assert inspector.has_table(table.name, schema=table.schema), table.fullname


def test_models_and_migrations_agree(engine):
    """No model change without a migration: autogenerate finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from salesops.models.raw import alembic_includes

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_schemas": True, "version_table_schema": "app",
            "include_name": lambda n, t, p: t != "schema" or n in ("app", "ops", "raw", "ml"),
            "include_object": alembic_includes})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def _insert(conn, sql, **params):
    return conn.execute(sa.text(sql), params).scalar()


def test_check_constraints_reject_bad_rows(clean_db):
    with clean_db.connect() as conn:
        with pytest.raises(IntegrityError, match="ck_leads_status_valid"):
            conn.execute(sa.text("insert into app.leads (status) values ('maybe')"))
        conn.rollback()
        with pytest.raises(IntegrityError, match="disqualified_has_reason"):
            conn.execute(sa.text("insert into app.leads (status) values ('disqualified')"))
        conn.rollback()


def test_one_live_contact_per_normalised_email(clean_db):
    with clean_db.connect() as conn:
        first = _insert(conn, "insert into app.contacts (email, email_normalized) "
                        "values ('Ann@x.io', 'ann@x.io') returning id")
        with pytest.raises(IntegrityError, match="uq_contacts_email_normalized_live"):
            conn.execute(sa.text("insert into app.contacts (email, email_normalized) "
                                 "values ('ann+a@x.io', 'ann@x.io')"))
        conn.rollback()
        first = _insert(conn, "insert into app.contacts (email, email_normalized) "
                        "values ('Ann@x.io', 'ann@x.io') returning id")
        # a merged-away duplicate may keep the address
        _insert(conn, "insert into app.contacts (email, email_normalized, merged_into_id) "
                "values ('ann+a@x.io', 'ann@x.io', :s) returning id", s=first)
        conn.rollback()


@pytest.mark.parametrize(("given", "expected"), [
    ("  Ann.Lee+news@Example.COM ", "ann.lee@example.com"),
    ("bob@example.org", "bob@example.org"),
    ("\tBob@Example.org\r\n", "bob@example.org"),
    ("not-an-email", None),
    ("two@@example.com", None),
    ("", None),
])
def test_normalize_email(engine, given, expected):
    with engine.connect() as conn:
        assert conn.execute(sa.text("select app.normalize_email(:e)"), {"e": given}).scalar() \
            == expected


def test_migrations_go_down_to_nothing_and_up_again(make_database):
    from alembic import command

    from salesops.db import get_engine

    url = make_database("salesops_downgrade")
    with get_engine(url).begin() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with get_engine(url).connect() as conn:
        left = conn.execute(sa.text("select count(*) from pg_tables where schemaname in "
                                    "('app', 'ops', 'raw', 'ml') and tablename <> "
                                    "'alembic_version'")).scalar()
    assert left == 0
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
