"""Bulk writes into the `ml` schema: one COPY stream inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from psycopg import sql


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


def record_metrics(conn: sa.Connection, model_name: str, model_version: str, run_id: str,
                   metrics: dict[str, float], dataset: str | None = None) -> int:
    """One ml.model_metrics row per metric."""
    rows = [(model_name, model_version, run_id, metric, float(value), dataset)
            for metric, value in metrics.items()]
    return copy_rows(conn, "ml.model_metrics",
                     ("model_name", "model_version", "mlflow_run_id", "metric", "value",
                      "dataset"), rows)
