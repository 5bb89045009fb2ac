"""The warehouse's feature views the models read: built by dbt, so say what to run when one
is missing rather than fail on the driver's "relation does not exist"."""

from __future__ import annotations

import sqlalchemy as sa

from salesops.errors import SalesopsError


def require_built(conn: sa.Connection, *relations: str) -> None:
    """Raise naming the first of `relations` (schema.name) that does not exist yet."""
    for relation in relations:
        if conn.execute(sa.text("select to_regclass(:r)"), {"r": relation}).scalar() is None:
            raise SalesopsError(f"{relation} has not been built yet: run the pipeline first "
                                "(`salesops up` on a new data folder, or materialise the dbt "
                                "assets in the Dagster UI).")
