"""Bulk writes into the `ml` schema: one COPY stream inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
import sqlalchemy as sa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter


def copy_rows(conn: sa.Connection, table: str, columns: Sequence[str],
              rows: Iterable[Sequence]) -> int:
    """COPY `rows` into `schema.table`; returns how many. Commits with `conn`'s transaction."""
    schema, name = table.split(".")
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    written = 0
    dbapi = conn.connection.driver_connection  # the psycopg 3 connection under SQLAlchemy
    with dbapi.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


#: What COPY's text format escapes in a value.
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _escaped(texts: list[str]) -> list[str]:
    """COPY-escaped `texts`, escaped in one string: a NUL (which no PostgreSQL text holds)
    joins and splits them again, so the escaping runs at C speed, not per value."""
    joined = "\0".join(texts)
    if joined.count("\0") != max(len(texts) - 1, 0):
        raise ValueError("a text value holds a NUL character, which PostgreSQL cannot store: "
                         "remove it from the data first")
    if not any(raw in joined for raw, _ in _ESCAPES):
        return texts
    for raw, escape in _ESCAPES:
        joined = joined.replace(raw, escape)
    return joined.split("\0")


def _copy_text(column: pd.Series) -> list[str]:
    """A column as COPY text values (missing as \\N): numbers by `str` (floats in their
    shortest round-trip form), text escaped all at once."""
    texts = list(map(str, column.tolist()))
    if column.dtype.kind not in "iubf":
        texts = _escaped(texts)
    for i in np.flatnonzero(column.isna().to_numpy()):
        texts[i] = "\\N"
    return texts


def copy_frame(conn: sa.Connection, table: str, frame: pd.DataFrame,
               chunk_rows: int = 100_000) -> int:
    """COPY a DataFrame's columns into `schema.table` in COPY's text format, a chunk of rows
    at a time, each chunk's text built a column at a time and joined by `str.join`."""
    with copy_stream(conn, table, list(frame.columns)) as write:
        for start in range(0, len(frame), chunk_rows):
            write(frame.iloc[start:start + chunk_rows])
    return len(frame)


@contextmanager
def copy_stream(conn: sa.Connection, table: str,
                columns: Sequence[str]) -> Iterator[Callable[[pd.DataFrame], None]]:
    """One COPY into `schema.table`, open while the caller computes: yields a function that
    writes a DataFrame of `columns` (as `copy_frame` does). A worker thread sends the data,
    so the server ingests one chunk while the caller computes the next."""
    schema, name = table.split(".")
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema, name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cur, cur.copy(statement,
                                         writer=QueuedLibpqWriter(cur)) as copy:
        def write(chunk: pd.DataFrame) -> None:
            if chunk.empty:
                return
            texts = [_copy_text(chunk[column]) for column in columns]
            copy.write("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")

        yield write


def record_metrics(conn: sa.Connection, model_name: str, model_version: str, run_id: str,
                   metrics: dict[str, float], dataset: str | None = None) -> int:
    """One ml.model_metrics row per metric."""
    rows = [(model_name, model_version, run_id, metric, float(value), dataset)
            for metric, value in metrics.items()]
    return copy_rows(conn, "ml.model_metrics",
                     ("model_name", "model_version", "mlflow_run_id", "metric", "value",
                      "dataset"), rows)
