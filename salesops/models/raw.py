"""The `raw` schema: what came from outside, append-only, one table per source entity.

Every table has the same lineage columns and keeps the original record, so a new source
field never needs a migration. Re-loading the same record (same source key, same content
hash) adds nothing: that pair is the primary key.

The record is kept one of two ways. The Salesforce export's tables (`COLUMN_SOURCES`) hold
one nullable `text` column per CSV field, named as the export's header, added by the loader
(`alter table ... add column if not exists`) the first time a field is seen: COPY writes the
file's rows as they are, with no JSON to build or parse (docs/decisions.md). They are modelled
here with their lineage columns only; `alembic_includes` tells Alembic to leave the rest
alone. Every other table keeps the record as jsonb in `record`. `record_sql` and
`record_of` give a row's record as jsonb either way, for readers that want one.

The content hash is the SHA-256 hex of the record's canonical JSON in a jsonb table; in a
column table, a uuid: the first 16 bytes of the SHA-256 of the non-empty fields
(`salesops.loading.fields_hash`), which Python makes without building the record, and
which keeps the primary key narrow.

Each index costs every loaded row, so there are only two: the primary key, and a BRIN
index on batch_id (a batch's rows are contiguous); the tables an incremental staging model
reads by `loaded_at` (`LOADED_AT_READ`) have a BRIN index on it too (rows are loaded in
time order, so a block range's times are close together). `id` orders the versions of a record
and has no index of its own; batch_id has no foreign key, because the loader writes the
`ops.load_batches` row in the batch's own transaction (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from salesops.models.base import Base

#: (source, entity) of every raw table; the table is named `<source>__<entity>`.
RAW_ENTITIES: tuple[tuple[str, str], ...] = (
    ("salesforce", "user"), ("salesforce", "account"), ("salesforce", "contact"),
    ("salesforce", "lead"), ("salesforce", "opportunity"),
    ("salesforce", "opportunity_history"), ("salesforce", "campaign"),
    ("salesforce", "campaign_member"), ("salesforce", "task"),
    ("hubspot", "contacts"), ("hubspot", "companies"), ("hubspot", "deals"),
    ("hubspot", "engagements"), ("hubspot", "owners"), ("hubspot", "pipelines"),
    ("email", "messages"),
    ("webforms", "submissions"),
    ("touchpoints", "events"),
    # any other CRM's CSV/XLSX export, read through a YAML column mapping
    ("mapped", "accounts"), ("mapped", "contacts"), ("mapped", "leads"), ("mapped", "deals"),
    ("mapped", "touchpoints"),
)


#: Sources whose raw tables hold the record as one text column per field.
COLUMN_SOURCES: frozenset[str] = frozenset({"salesforce"})

#: Raw tables that an incremental staging model reads by loaded_at (the rows loaded since its
#: last run: dbt_project's stg_touchpoints__events).
LOADED_AT_READ: frozenset[tuple[str, str]] = frozenset({("touchpoints", "events")})

#: The lineage columns of every raw table: no record field may take these names.
LINEAGE: tuple[str, ...] = ("id", "batch_id", "source", "source_key", "content_hash",
                            "loaded_at")
_LINEAGE_ARRAY = "array[" + ", ".join(f"'{c}'" for c in LINEAGE) + "]::text[]"


def raw_table_name(source: str, entity: str) -> str:
    return f"{source}__{entity}"


def has_record_columns(source: str) -> bool:
    """Whether `source`'s raw tables hold the record as one text column per field."""
    return source in COLUMN_SOURCES


def record_sql(source: str, row: str) -> str:
    """SQL for the record of `row` (a table alias, or the table's name) as jsonb: the
    `record` column, or the field columns that are not null (a field absent from the
    record's file is null; an empty one is '')."""
    if not has_record_columns(source):
        return f"{row}.record"
    return f"jsonb_strip_nulls(to_jsonb({row}) - {_LINEAGE_ARRAY})"


def raw_records(source: str, entity: str) -> str:
    """SQL for a raw table as a relation with its record as the jsonb column `record`,
    whichever way the table holds it (for readers written against `record`)."""
    table = f"raw.{raw_table_name(source, entity)}"
    if not has_record_columns(source):
        return table
    return f"(select w.*, {record_sql(source, 'w')} as record from {table} w) w"


def record_of(table: sa.Table) -> sa.ColumnElement[Any]:
    """`record_sql` for a model's table, in a statement that selects from that table."""
    if "record" in table.c:
        return table.c.record
    fields = sa.func.to_jsonb(table.table_valued()).op("-")(
        sa.literal_column(_LINEAGE_ARRAY))
    return sa.func.jsonb_strip_nulls(fields, type_=JSONB)


def alembic_includes(obj: Any, name: str | None, type_: str, reflected: bool,
                     compare_to: Any) -> bool:
    """Alembic's `include_object`: False for a field column the loader added to a
    column-per-field raw table (not in the models, never a migration's business)."""
    return not (type_ == "column" and reflected and compare_to is None
                and obj.table.schema == "raw"
                and obj.table.name.split("__", 1)[0] in COLUMN_SOURCES)


def _raw_table(source: str, entity: str) -> sa.Table:
    name = raw_table_name(source, entity)
    columns = has_record_columns(source)
    record = [] if columns else [sa.Column("record", JSONB, nullable=False)]
    return sa.Table(
        name, Base.metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("content_hash", UUID(as_uuid=True) if columns else sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        *record,
        sa.PrimaryKeyConstraint("source_key", "content_hash"),
        sa.Index(f"ix_{name}_batch_id", "batch_id", postgresql_using="brin",
                 postgresql_with={"autosummarize": "on"}),
        *([sa.Index(f"ix_{name}_loaded_at", "loaded_at", postgresql_using="brin",
                    postgresql_with={"autosummarize": "on"})]
          if (source, entity) in LOADED_AT_READ else []),
        schema="raw",
    )


RAW_TABLES: dict[tuple[str, str], sa.Table] = {
    (source, entity): _raw_table(source, entity) for source, entity in RAW_ENTITIES
}
