"""ml.model_drift: per scoring run, each feature's and the score's PSI against the reference
saved with the model's training run, and whether it passed the drift threshold

Revision ID: d71f3a9c5e28
Revises: b4c8e2a61d93
Create Date: 2026-11-26 04:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d71f3a9c5e28"
down_revision = "d7a5c3e9f1b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_drift",
        sa.Column("model_name", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("mlflow_run_id", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="feature or score"),
        sa.Column("feature", sa.Text(), nullable=False,
                  comment="the feature, or the score's name"),
        sa.Column("psi", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False,
                  comment="the PSI that flags drift"),
        sa.Column("drifted", sa.Boolean(), nullable=False,
                  comment="psi >= threshold: flags the model"),
        sa.Column("rows_reference", sa.Integer(), nullable=False),
        sa.Column("rows_current", sa.Integer(), nullable=False),
        sa.Column("reference_mean", sa.Float(), nullable=True),
        sa.Column("current_mean", sa.Float(), nullable=True),
        sa.Column("distribution", postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                  comment="bins, and the reference and current share of rows in each"),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint("kind in ('feature', 'score')",
                           name=op.f("ck_model_drift_kind_valid")),
        sa.CheckConstraint("psi >= 0", name=op.f("ck_model_drift_psi_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_drift")),
        schema="ml",
    )
    op.create_index(op.f("ix_model_drift_model_name_checked_at"), "model_drift",
                    ["model_name", "checked_at"], unique=False, schema="ml")


def downgrade() -> None:
    op.drop_index(op.f("ix_model_drift_model_name_checked_at"), table_name="model_drift",
                  schema="ml")
    op.drop_table("model_drift", schema="ml")
