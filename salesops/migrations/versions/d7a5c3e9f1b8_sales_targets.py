"""sales targets: bookings to reach per month or quarter, per rep, team or the company

Revision ID: d7a5c3e9f1b8
Revises: b4c8e2a61d93
Create Date: 2026-11-26 04:50:00

`app.sales_targets` holds one bookings target per period (a month or a quarter, by its
first day) and holder (a rep, a team, or neither: the company). Set through the API
(`PUT /api/v1/targets`, managers and admins), audited; dbt's `marts.sales_targets` spreads
them over days for the dashboards.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7a5c3e9f1b8"
down_revision = "c5e9a2f7d3b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = {"server_default": sa.text("now()"), "nullable": False}


def upgrade() -> None:
    op.create_table(
        "sales_targets",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("period_grain", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False, comment="the period's first day"),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False,
                  comment="bookings (won deal amounts) to reach"),
        sa.Column("set_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), **_TS),
        sa.Column("updated_at", sa.DateTime(timezone=True), **_TS),
        sa.CheckConstraint("period_grain in ('month', 'quarter')",
                           name=op.f("ck_sales_targets_period_grain_valid")),
        sa.CheckConstraint("num_nonnulls(team_id, user_id) <= 1",
                           name=op.f("ck_sales_targets_one_holder")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_sales_targets_amount_valid")),
        sa.CheckConstraint("period_start = date_trunc(period_grain, period_start)::date",
                           name=op.f("ck_sales_targets_period_start_valid")),
        sa.ForeignKeyConstraint(["team_id"], ["app.teams.id"], ondelete="CASCADE",
                                name=op.f("fk_sales_targets_team_id_teams")),
        sa.ForeignKeyConstraint(["user_id"], ["app.users.id"], ondelete="CASCADE",
                                name=op.f("fk_sales_targets_user_id_users")),
        sa.ForeignKeyConstraint(["set_by"], ["app.users.id"], ondelete="SET NULL",
                                name=op.f("fk_sales_targets_set_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_targets")),
        sa.UniqueConstraint("period_grain", "period_start", "team_id", "user_id",
                            name=op.f("uq_sales_targets_period_grain_period_start_team_id_user_id"),
                            postgresql_nulls_not_distinct=True),
        schema="app")
    op.create_index(op.f("ix_sales_targets_team_id"), "sales_targets", ["team_id"],
                    schema="app")
    op.create_index(op.f("ix_sales_targets_user_id"), "sales_targets", ["user_id"],
                    schema="app")


def downgrade() -> None:
    op.drop_index(op.f("ix_sales_targets_user_id"), table_name="sales_targets", schema="app")
    op.drop_index(op.f("ix_sales_targets_team_id"), table_name="sales_targets", schema="app")
    op.drop_table("sales_targets", schema="app")
