"""saved audience segments; the approval step of campaigns

Revision ID: c6a2f9e4d8b1
Revises: b4c8e2a61d93
Create Date: 2026-11-26 04:30:00

`app.segments` holds audience segments as saved filters over contacts (the JSON of
`salesops.automation.segments`); a campaign copies one into its `audience`. Campaigns get
the approval step: who asked, who approved and when (four eyes: never the owner).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c6a2f9e4d8b1"
down_revision: str | Sequence[str] | None = "b4c8e2a61d93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = {"server_default": sa.text("now()"), "nullable": False}


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()),
                  server_default="{}", nullable=False, comment="segment filter JSON"),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), **_TS),
        sa.Column("updated_at", sa.DateTime(timezone=True), **_TS),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["app.users.id"], ondelete="SET NULL",
                                name=op.f("fk_segments_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
        schema="app",
    )
    op.add_column("marketing_campaigns",
                  sa.Column("approval_requested_at", sa.DateTime(timezone=True),
                            nullable=True), schema="app")
    op.add_column("marketing_campaigns",
                  sa.Column("approved_by", sa.BigInteger(), nullable=True), schema="app")
    op.add_column("marketing_campaigns",
                  sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
                  schema="app")
    op.create_foreign_key(op.f("fk_marketing_campaigns_approved_by_users"),
                          "marketing_campaigns", "users", ["approved_by"], ["id"],
                          source_schema="app", referent_schema="app", ondelete="SET NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("fk_marketing_campaigns_approved_by_users"),
                       "marketing_campaigns", schema="app", type_="foreignkey")
    for column in ("approved_at", "approved_by", "approval_requested_at"):
        op.drop_column("marketing_campaigns", column, schema="app")
    op.drop_table("segments", schema="app")
