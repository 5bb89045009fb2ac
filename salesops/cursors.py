"""Incremental cursors in `ops.cursors`: where each source left off.

A value is a small JSON object the source defines (an IMAP folder's UIDVALIDITY and last
UID, an API's last-modified time). Setting one inside a load's transaction (the `after`
hook of `load_batch`) moves it exactly when the batch lands, never past what was loaded.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa


def get_cursor(conn: sa.Engine | sa.Connection, source: str, entity: str) -> dict[str, Any] | None:
    query = sa.text("select value from ops.cursors where source = :s and entity = :e")
    params = {"s": source, "e": entity}
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            value = c.execute(query, params).scalar()
    else:
        value = conn.execute(query, params).scalar()
    return None if value is None else json.loads(value)


def set_cursor(conn: sa.Connection, source: str, entity: str, value: dict[str, Any]) -> None:
    conn.execute(sa.text(
        "insert into ops.cursors (source, entity, value) values (:s, :e, :v) "
        "on conflict (source, entity) do update set value = excluded.value, updated_at = now()"),
        {"s": source, "e": entity, "v": json.dumps(value, sort_keys=True)})
