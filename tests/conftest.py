"""Shared fixtures: a real PostgreSQL and Redis for the whole test session.

Embedded servers by default; `TEST_DATABASE_URL` / `TEST_REDIS_URL` point at real ones.
Each session gets a fresh database, migrated to head.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from salesops import migrate
from salesops.db import ensure_database, get_engine, sqlalchemy_url

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: Tables holding test data; truncated between tests that ask for a clean database.
_DATA_SCHEMAS = ("app", "ops", "raw", "ml")


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL of a database on the test server (not the one the tests write to)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    from salesops.embedded import start_postgres

    return start_postgres(tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    name = f"salesops_test_{uuid.uuid4().hex[:8]}"
    url = ensure_database(pg_server_url, name)
    migrate.upgrade(url)
    yield url
    get_engine(url).dispose()
    admin = sa.create_engine(sqlalchemy_url(pg_server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> sa.Engine:
    return get_engine(database_url)


@pytest.fixture
def clean_db(engine: sa.Engine) -> sa.Engine:
    """The test database with every data table emptied (schema kept)."""
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "select format('%I.%I', schemaname, tablename) from pg_tables "
            "where schemaname = any(:schemas) and tablename <> 'alembic_version'"),
            {"schemas": list(_DATA_SCHEMAS)}).scalars().all()
        if tables:
            conn.execute(sa.text(f"truncate {', '.join(tables)} restart identity cascade"))
    return engine


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if url := os.environ.get("TEST_REDIS_URL"):
        return url
    from salesops.embedded import start_redis

    return start_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip saying it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED_DATA} (see DESIGN.md)")
    return SHARED_DATA
