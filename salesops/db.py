"""Database URLs and engines.

One PostgreSQL holds everything. salesops talks to it through psycopg 3
(`postgresql+psycopg://`); Dagster's storage and MLflow's tracking store need psycopg2 and
live in their own schemas of the same database (set through the connection's search_path).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from salesops.errors import DatabaseUnreachable

#: The schemas salesops owns in its database (see DESIGN.md: one owner per schema).
SCHEMAS = ("raw", "ops", "app", "staging", "intermediate", "marts", "ml", "dagster", "mlflow")


def _url(url: str | URL) -> URL:
    return url if isinstance(url, URL) else make_url(url)


def sqlalchemy_url(url: str | URL) -> str:
    """The URL for salesops' own engines (psycopg 3)."""
    return _url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def psycopg2_url(url: str | URL, search_path: str | None = None) -> str:
    """The URL for Dagster and MLflow (psycopg2), optionally pinned to one schema."""
    u = _url(url).set(drivername="postgresql+psycopg2")
    if search_path:
        u = u.update_query_dict({"options": f"-csearch_path={search_path}"})
    return u.render_as_string(hide_password=False)


def libpq_url(url: str | URL) -> str:
    """A plain libpq URL (`postgresql://...`) for psql and other libpq clients."""
    u = _url(url)
    auth = ""
    if u.username:
        auth = quote(u.username, safe="") + (f":{quote(u.password, safe='')}" if u.password else "")
        auth += "@"
    host = u.host or ""
    port = f":{u.port}" if u.port else ""
    query = urlencode(dict(u.query)) if u.query else ""
    return f"postgresql://{auth}{host}{port}/{u.database or ''}" + (f"?{query}" if query else "")


def connection_parts(url: str | URL) -> dict[str, str | int | None]:
    """host, port, user, password and dbname: what dbt's profile and the status command need.

    A Unix-socket server (the embedded one) has its socket folder in `?host=`.
    """
    u = _url(url)
    query = dict(u.query)
    host = u.host or query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    return {"host": host or "localhost", "port": u.port or int(query.get("port", 5432)),
            "user": u.username or "postgres", "password": u.password or "",
            "dbname": u.database or "postgres"}


def describe(url: str | URL) -> str:
    """A URL fit to print: the password hidden."""
    parts = connection_parts(url)
    if str(parts["host"]).startswith("/"):
        return f"postgresql://{parts['user']}@/{parts['dbname']} (socket in {parts['host']})"
    return f"postgresql://{parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}"


def compact_sql(sql: str) -> str:
    """`sql` without indentation and blank lines (a line's text, comments and literals
    kept). psycopg caches how it converts a statement's placeholders only for statements
    of up to 4,096 characters; a longer one is parsed again with regular expressions at
    every execution."""
    return "\n".join(line.strip() for line in sql.splitlines() if line.strip())


#: SQLAlchemy's statement log: driver statements are written there too, parameters hidden.
_ENGINE_LOG = logging.getLogger("sqlalchemy.engine.Engine")


class DriverStatement:
    """A `text()` statement for a hot path, run on the driver's (psycopg's) connection
    inside the caller's transaction: compiled once per dialect, it skips what SQLAlchemy
    does per execution (execution context, compiled-cache lookup, result metadata from the
    cursor), about 40 % of a lead capture's Python. Parameters go through their types'
    bind processors (a sealed column encrypts) and errors come out as SQLAlchemy's, as
    with `Connection.execute`; the SQL sent is the same."""

    def __init__(self, clause: sa.TextClause) -> None:
        self.clause = clause
        self._compiled: dict[type, tuple[str, dict]] = {}

    def _for(self, dialect: sa.Dialect) -> tuple[str, dict]:
        if (compiled := self._compiled.get(type(dialect))) is None:
            done = self.clause.compile(dialect=dialect)
            processors = {name: processor for name, bind in done.binds.items()
                          if (processor := bind.type.dialect_impl(dialect)
                              .bind_processor(dialect))}
            compiled = self._compiled[type(dialect)] = (done.string, processors)
        return compiled

    def execute(self, conn: sa.Connection | Session, params: Mapping[str, Any] | None = None
                ) -> tuple | None:
        """Run it in `conn`'s transaction (a Session's: its connection); the first row."""
        if isinstance(conn, Session):
            conn = conn.connection()
        dialect = conn.dialect
        sql, processors = self._for(dialect)
        values = {name: processors[name](value) if name in processors else value
                  for name, value in (params or {}).items()}
        driver = conn.connection.driver_connection
        if _ENGINE_LOG.isEnabledFor(logging.INFO):
            _ENGINE_LOG.info("%s\n[on the driver's connection; parameters hidden]", sql)
        try:
            cursor = driver.execute(sql, values)
            return cursor.fetchone() if cursor.description else None
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, driver, None):
                conn.invalidate(exc)
            raise sa.exc.DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                             hide_parameters=True, dialect=dialect) from exc


#: A pooled connection idle longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: sa.Engine) -> None:
    """Pre-ping only connections that sat idle in the pool: a server restart or an idle
    timeout is caught before use (the pool then reconnects), while a busy server does
    not pay a round trip per checkout. A connection that broke while in steady use fails
    its statement once, and the pool then drops its other connections."""

    @event.listens_for(engine, "checkin")
    def checkin(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checkout(dbapi_connection, record, proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is not None and time.monotonic() - since > PING_AFTER_IDLE_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except engine.dialect.loaded_dbapi.Error as exc:
                raise sa.exc.DisconnectionError(str(exc)) from exc


@lru_cache(maxsize=8)
def get_engine(url: str) -> sa.Engine:
    """An engine whose logs and errors never carry statement parameters (personal data).
    Its pool keeps up to 10 connections (20 at peaks): enough for the API's worker threads
    under load without opening a connection per request."""
    engine = sa.create_engine(sqlalchemy_url(url), pool_size=10, max_overflow=10,
                              hide_parameters=True)
    _ping_when_idle(engine)
    return engine


def check_reachable(url: str, variable: str = "DATABASE_URL") -> None:
    """Fail with one line naming the variable and the host it tried."""
    try:
        engine = sa.create_engine(sqlalchemy_url(url), connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any driver error means the same thing to the user
        parts = connection_parts(url)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnreachable(
            f"{variable}: cannot reach PostgreSQL at {parts['host']}:{parts['port']} "
            f"(database {parts['dbname']}): {reason}. Check the server is running and the URL "
            f"is right, or unset {variable} to use the embedded server."
        ) from None


def with_database(url: str | URL, database: str) -> str:
    return _url(url).set(database=database).render_as_string(hide_password=False)


def ensure_database(server_url: str, database: str) -> str:
    """Create `database` on the server if missing; return its URL."""
    engine = sa.create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(sa.text("select 1 from pg_database where datname = :d"),
                              {"d": database}).scalar()
        if not exists:
            conn.execute(sa.text(f'create database "{database}"'))
    engine.dispose()
    return with_database(server_url, database)
