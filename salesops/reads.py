"""Read helpers for dashboards and reports: marts and ml tables as DataFrames.

A relation that does not exist yet (dbt never ran, a source never loaded) is not an error
for a reader: it gets an empty frame and can say so in plain words.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from salesops.db import get_engine


class Missing(pd.DataFrame):
    """An empty frame that remembers which relation was missing."""

    _metadata = ["relation"]


#: Memory for each sort and hash of a read: a dashboard's medians sort a few hundred
#: thousand rows, which PostgreSQL's default (4MB) would spill to disk.
WORK_MEM = "64MB"


def read(database_url: str, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Run a read-only query; an undefined table gives an empty `Missing` frame."""
    try:
        with get_engine(database_url).connect() as conn:
            conn.execute(sa.text("set transaction read only"))
            conn.execute(sa.text(f"set local work_mem = '{WORK_MEM}'"))
            return pd.read_sql_query(sa.text(sql), conn, params=params or {})
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42P01":  # undefined_table
            raise
        missing = Missing()
        missing.relation = str(exc.orig).split('"')[1] if '"' in str(exc.orig) else "?"
        return missing
