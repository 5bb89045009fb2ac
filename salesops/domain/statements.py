"""A write written once as batches of SQL statements, run by either kind of connection.

A domain operation that the API runs on the event loop and the rest of salesops runs in a
SQLAlchemy transaction is a generator (`Steps`): it yields a batch of statements (psycopg's
`%(name)s` parameters; a literal `%` is `%%`), receives each statement's first row and
returns its result. The rules stay in one place; the drivers only send:

- `run` on a SQLAlchemy `Session` or `Connection`, in the caller's transaction, a
  statement at a time (the batch, merge and test paths);
- `run_async` on a psycopg `AsyncConnection` in autocommit mode, as a transaction of its
  own, each batch in one round trip (pipeline mode), BEGIN sent with the first batch and
  COMMIT with the `last` one, with no worker thread and no SQLAlchemy execution layer
  between (the public lead-capture endpoint).

Statements in one batch must not need each other's rows (a later batch may) and each
returns a row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

T = TypeVar("T")
Statement = tuple[str, Mapping[str, Any]]
Rows = list[tuple]
Steps = Generator[Sequence[Statement], Rows, T]


class Last(tuple):
    """The steps' final batch: they return once its rows are in, so the async driver sends
    the COMMIT with it."""


def last(*batch: Statement) -> Last:
    return Last(batch)


def run(conn: Session | sa.Connection, steps: Steps[T]) -> T:
    """Run `steps` in the caller's transaction on a SQLAlchemy session or connection
    (a session's pending changes are flushed first, as its own statements would do)."""
    if isinstance(conn, Session):
        conn.flush()
        conn = conn.connection()
    try:
        batch = next(steps)
        while True:
            batch = steps.send([tuple(conn.exec_driver_sql(sql, dict(params)).one())
                                for sql, params in batch])
    except StopIteration as done:
        return done.value


async def run_async(conn: psycopg.AsyncConnection, steps: Steps[T], *,
                    before_commit: Awaitable[Any] | None = None) -> T:
    """Run `steps` as one transaction on `conn` (autocommit on, so BEGIN and COMMIT are
    ours to send with the batches), a round trip per batch. `before_commit` is awaited
    before the last batch is sent; if it raises, the transaction is rolled back."""
    rows: Rows | None = None
    first = True
    try:
        while True:
            try:
                batch = steps.send(rows)  # type: ignore[arg-type]
            except StopIteration as done:
                if before_commit is not None:  # steps that ended without a Last batch
                    await before_commit
                if not first:
                    await conn.execute("commit")
                return done.value
            final = isinstance(batch, Last)
            if final and before_commit is not None:
                await before_commit
                before_commit = None
            async with conn.pipeline():
                if first:
                    await conn.execute("begin")
                    first = False
                cursors = [await conn.execute(sql, params) for sql, params in batch]
                if final:
                    await conn.execute("commit")
            rows = [await cursor.fetchone() for cursor in cursors]  # type: ignore[misc]
            if final:
                try:
                    steps.send(rows)
                except StopIteration as done:
                    return done.value
                raise RuntimeError("steps went on after their last batch")
    except BaseException:
        if conn.info.transaction_status in _OPEN:
            await conn.execute("rollback")
        raise


_OPEN = (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR)
