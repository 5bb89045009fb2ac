"""Shared by the dbt tests: one dbt target folder for the session, so that every dbt call
after the first reuses its parse (dbt's partial parsing), and the vars they all pass (the
same vars keep the parse valid)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

#: A fixed reference time for ages and durations in fct_deals.
AS_OF = "2025-06-01 00:00:00+00"
DBT_VARS = ["--vars", json.dumps({"as_of": AS_OF})]

_DATA_SCHEMAS = ("app", "ops", "raw", "ml")


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="session")
def dbt_vars() -> list[str]:
    return DBT_VARS


@pytest.fixture(scope="session")
def truncate_data(engine: sa.Engine):
    """What the clean_db fixture does, for module-scoped fixtures (clean_db is per test)."""
    return lambda: _truncate(engine)


def _truncate(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "select format('%I.%I', schemaname, tablename) from pg_tables "
            "where schemaname = any(:schemas) and tablename <> 'alembic_version'"),
            {"schemas": list(_DATA_SCHEMAS)}).scalars().all()
        if tables:
            conn.execute(sa.text(f"truncate {', '.join(tables)} restart identity cascade"))
