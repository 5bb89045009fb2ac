"""Salesforce-export raw tables: one text column per CSV field instead of a jsonb record

Revision ID: c3f8a1e6d2b9
Revises: e7b4d2a9c1f6
Create Date: 2026-11-26 13:30:00

The nine `raw.salesforce__*` tables keep their lineage columns, primary key (source_key,
content_hash) and BRIN index; their `record` becomes one nullable `text` column per field,
named as the export's header, so the loader COPYs a file's rows as they are (why and the
figures: docs/decisions.md, docs/benchmarks.md). Each key found in a stored record becomes a
column holding `record->>key`; the loader adds columns for fields it has not seen yet. The
content hashes stay as they are: the loader still hashes the record's canonical JSON, which
the columns spell again (`salesops.models.raw.record_sql`). Downgrade rebuilds `record`
from the columns (a field whose value was not text comes back as its JSON text).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3f8a1e6d2b9"
down_revision: str | Sequence[str] | None = "e7b4d2a9c1f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("user", "account", "contact", "lead", "opportunity", "opportunity_history",
          "campaign", "campaign_member", "task")
LINEAGE = ("id", "batch_id", "source", "source_key", "content_hash", "loaded_at")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    conn = op.get_bind()
    for entity in TABLES:
        table = f"raw.salesforce__{entity}"
        keys = conn.execute(sa.text(
            f"select distinct k from {table}, jsonb_object_keys(record) k order by k")
        ).scalars().all()
        for key in keys:
            if key in LINEAGE or not 0 < len(key.encode()) < 64:
                raise RuntimeError(
                    f"{table} holds records with a field {key!r}, which cannot name a column "
                    "(empty, longer than 63 bytes, or a lineage column's name): rename that "
                    "key in those records (update ... set record = ...) and migrate again")
        if keys:
            columns = ", ".join(_quote(k) for k in keys)
            values = ", ".join(f"record->>{_literal(k)}" for k in keys)
            op.execute(f"alter table {table} "
                       + ", ".join(f"add column {_quote(k)} text" for k in keys))
            # A single-column row needs `row(...)` on the right of a multi-column assignment.
            op.execute(f"update {table} set ({columns}) = row({values})")
        op.execute(f"alter table {table} drop column record")


def downgrade() -> None:
    conn = op.get_bind()
    lineage = "array[" + ", ".join(map(_literal, LINEAGE)) + "]::text[]"
    for entity in TABLES:
        table = f"raw.salesforce__{entity}"
        fields = conn.execute(sa.text(
            "select column_name from information_schema.columns where table_schema = 'raw'"
            " and table_name = :t and column_name <> all(:lineage)"),
            {"t": f"salesforce__{entity}", "lineage": list(LINEAGE)}).scalars().all()
        op.execute(f"alter table {table} add column record jsonb")
        op.execute(f"update {table} t set record = jsonb_strip_nulls(to_jsonb(t) - {lineage}"
                   " - 'record')")
        op.execute(f"alter table {table} alter column record set not null"
                   + "".join(f", drop column {_quote(f)}" for f in fields))
