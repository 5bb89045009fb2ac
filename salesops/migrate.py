"""Schema migrations (Alembic), run from code so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from salesops.db import SCHEMAS, get_engine

MIGRATIONS = Path(__file__).parent / "migrations"
EXTENSIONS = ("citext", "pg_trgm", "unaccent", "btree_gist")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def prepare(conn: sa.Connection) -> None:
    """Schemas and extensions the tables need; idempotent."""
    for schema in SCHEMAS:
        conn.execute(sa.text(f'create schema if not exists "{schema}"'))
    for ext in EXTENSIONS:
        conn.execute(sa.text(f'create extension if not exists "{ext}" with schema public'))


def upgrade(url: str, revision: str = "head") -> None:
    engine = get_engine(url)
    with engine.begin() as conn:
        prepare(conn)
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current(url: str) -> str | None:
    with get_engine(url).connect() as conn:
        exists = conn.execute(sa.text("select to_regclass('app.alembic_version')")).scalar()
        if not exists:
            return None
        return MigrationContext.configure(
            conn, opts={"version_table_schema": "app"}).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def autogenerate(url: str, message: str) -> None:
    """For developers: write a new revision from the difference between models and database."""
    engine = get_engine(url)
    with engine.begin() as conn:
        prepare(conn)
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
