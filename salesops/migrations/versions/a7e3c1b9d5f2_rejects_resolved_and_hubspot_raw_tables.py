"""rejected rows can be resolved by a replay; raw tables for HubSpot API entities

Revision ID: a7e3c1b9d5f2
Revises: 3c9a1f0d2b47
Create Date: 2026-11-26 00:30:00

`salesops ingest rejects replay` loads fixed rows in a new batch and marks the rejects it
replaced resolved (when, and by which batch), so `rejects list` shows only what is open. The HubSpot API
client also reads engagements, owners and pipelines.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7e3c1b9d5f2"
down_revision: str | Sequence[str] | None = "3c9a1f0d2b47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NEW_RAW = ("hubspot__engagements", "hubspot__owners", "hubspot__pipelines")


def upgrade() -> None:
    for name in NEW_RAW:
        op.create_table(
            name,
            sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
            sa.Column("batch_id", sa.UUID(), nullable=False),
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("source_key", sa.Text(), nullable=False),
            sa.Column("content_hash", sa.Text(), nullable=False),
            sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                      nullable=False),
            sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
            sa.ForeignKeyConstraint(["batch_id"], ["ops.load_batches.batch_id"],
                                    name=op.f(f"fk_{name}_batch_id_load_batches")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
            sa.UniqueConstraint("source_key", "content_hash",
                                name=op.f(f"uq_{name}_source_key_content_hash")),
            schema="raw")
        op.create_index(f"ix_{name}_batch_id", name, ["batch_id"], unique=False, schema="raw")
    op.add_column("rejected_rows", sa.Column("resolved_at", sa.DateTime(timezone=True),
                                             nullable=True), schema="ops")
    op.add_column("rejected_rows", sa.Column("resolved_batch_id", postgresql.UUID(as_uuid=True),
                                             nullable=True, comment="the replay that fixed it"),
                  schema="ops")
    op.create_foreign_key(op.f("fk_rejected_rows_resolved_batch_id_load_batches"),
                          "rejected_rows", "load_batches", ["resolved_batch_id"], ["batch_id"],
                          source_schema="ops", referent_schema="ops")


def downgrade() -> None:
    op.drop_constraint(op.f("fk_rejected_rows_resolved_batch_id_load_batches"),
                       "rejected_rows", schema="ops", type_="foreignkey")
    op.drop_column("rejected_rows", "resolved_batch_id", schema="ops")
    op.drop_column("rejected_rows", "resolved_at", schema="ops")
    for name in NEW_RAW:
        op.drop_index(f"ix_{name}_batch_id", table_name=name, schema="raw")
        op.drop_table(name, schema="raw")
