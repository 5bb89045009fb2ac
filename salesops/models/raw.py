"""The `raw` schema: what came from outside, append-only, one table per source entity.

Every table has the same lineage columns and keeps the original record as jsonb, so a new
source field never needs a migration. Re-loading the same record (same source key, same
content hash) adds nothing: that pair is the primary key.

Each index costs every loaded row, so there are only two: the primary key, and a BRIN
index on batch_id (a batch's rows are contiguous). `id` orders the versions of a record
and has no index of its own; batch_id has no foreign key, because the loader writes the
`ops.load_batches` row in the batch's own transaction (docs/decisions.md).
"""

from __future__ import annotations

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


def raw_table_name(source: str, entity: str) -> str:
    return f"{source}__{entity}"


def _raw_table(source: str, entity: str) -> sa.Table:
    name = raw_table_name(source, entity)
    return sa.Table(
        name, Base.metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("record", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("source_key", "content_hash"),
        sa.Index(f"ix_{name}_batch_id", "batch_id", postgresql_using="brin",
                 postgresql_with={"autosummarize": "on"}),
        schema="raw",
    )


RAW_TABLES: dict[tuple[str, str], sa.Table] = {
    (source, entity): _raw_table(source, entity) for source, entity in RAW_ENTITIES
}
