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


def _copy_text(column: pd.Series) -> np.ndarray:
    """A column as COPY text values (missing as \\N), vectorised."""
    if column.dtype.kind in "iub":
        return column.astype(str).to_numpy(dtype=object)
    if column.dtype.kind == "f":
        text = column.astype(str).to_numpy(dtype=object)
    else:
        text = column.astype(object).where(column.notna(), "").astype(str)
        special = text.str.contains(r"[\\\t\n\r]", regex=True)
        if special.any():
            escaped = text[special]
            for raw, escape in _ESCAPES:
                escaped = escaped.str.replace(raw, escape, regex=False)
            text[special] = escaped
        text = text.to_numpy(dtype=object)
    text[column.isna().to_numpy()] = "\\N"
    return text


def copy_frame(conn: sa.Connection, table: str, frame: pd.DataFrame,
               chunk_rows: int = 100_000) -> int:
    """COPY a DataFrame's columns into `schema.table` in COPY's text format, a chunk of rows
    at a time, each chunk's text built a column at a time (no Python per row)."""
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
            lines = _copy_text(chunk[columns[0]])
            for column in columns[1:]:
                lines = lines + "\t" + _copy_text(chunk[column])
            copy.write("\n".join(lines.tolist()) + "\n")

        yield write


def record_metrics(conn: sa.Connection, model_name: str, model_version: str, run_id: str,
                   metrics: dict[str, float], dataset: str | None = None) -> int:
    """One ml.model_metrics row per metric."""
    rows = [(model_name, model_version, run_id, metric, float(value), dataset)
            for metric, value in metrics.items()]
    return copy_rows(conn, "ml.model_metrics",
                     ("model_name", "model_version", "mlflow_run_id", "metric", "value",
                      "dataset"), rows)
