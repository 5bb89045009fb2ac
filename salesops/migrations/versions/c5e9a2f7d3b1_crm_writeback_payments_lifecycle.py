"""CRM write-back log, payment status, webhook receipts, data lifecycle

Revision ID: c5e9a2f7d3b1
Revises: b4c8e2a61d93
Create Date: 2026-11-26 04:20:00

`ops.crm_sync_log` keeps each field decision of a CRM write-back run (which side won, by
which rule, both values); `app.contracts` gains the invoice's payment status as the
financial system reports it; `app.webhook_receipts` remembers every signed webhook taken
in by its idempotency key, so a replay changes nothing; `ops.lifecycle_actions` records
every retention step (archive, delete, purge) for the compliance report, and the schema
`archive` receives archived rows (its tables are made by the lifecycle, shaped like the
tables they come from).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c5e9a2f7d3b1"
down_revision = "c6a2f9e4d8b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = {"server_default": sa.text("now()"), "nullable": False}


def upgrade() -> None:
    op.create_table(
        "crm_sync_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False, comment="the CRM's object type"),
        sa.Column("object_id", sa.Text(), nullable=False, comment="the CRM's record id"),
        sa.Column("lead_id", sa.BigInteger(), nullable=True),
        sa.Column("field", sa.Text(), nullable=False, comment="the CRM property"),
        sa.Column("direction", sa.Text(), nullable=False, comment="the winning side's way"),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("local_value", sa.Text(), nullable=True),
        sa.Column("crm_value", sa.Text(), nullable=True),
        sa.Column("local_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("crm_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), **_NOW),
        sa.CheckConstraint("direction in ('to_crm', 'from_crm')",
                           name=op.f("ck_crm_sync_log_direction_valid")),
        sa.CheckConstraint("decision in ('pushed', 'kept_crm', 'failed')",
                           name=op.f("ck_crm_sync_log_decision_valid")),
        sa.CheckConstraint("rule in ('salesops_owns', 'crm_owns', 'later_change')",
                           name=op.f("ck_crm_sync_log_rule_valid")),
        sa.ForeignKeyConstraint(["run_id"], ["app.integration_sync_runs.id"],
                                ondelete="CASCADE",
                                name=op.f("fk_crm_sync_log_run_id_integration_sync_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_sync_log")),
        schema="ops",
    )
    op.create_index(op.f("ix_crm_sync_log_run_id"), "crm_sync_log", ["run_id"], schema="ops")
    op.create_index(op.f("ix_crm_sync_log_object_type_object_id"), "crm_sync_log",
                    ["object_type", "object_id"], schema="ops")

    op.add_column("contracts", sa.Column("payment_status", sa.Text(), server_default="unpaid",
                                         nullable=False), schema="app")
    op.add_column("contracts", sa.Column("amount_paid", sa.Numeric(16, 2), nullable=True),
                  schema="app")
    op.add_column("contracts", sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
                  schema="app")
    op.add_column("contracts", sa.Column(
        "payment_updated_at", sa.DateTime(timezone=True), nullable=True,
        comment="when the financial system says it changed"), schema="app")
    op.create_check_constraint(
        op.f("ck_contracts_payment_status_valid"), "contracts",
        "payment_status in ('unpaid', 'partially_paid', 'paid', 'overdue', 'failed', "
        "'refunded')", schema="app")

    op.create_table(
        "webhook_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, comment="e.g. finance.payments"),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), **_NOW),
        sa.Column("body_sha256", sa.Text(), nullable=False),
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False, comment="what it changed"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_receipts")),
        sa.UniqueConstraint("source", "idempotency_key",
                            name=op.f("uq_webhook_receipts_source_idempotency_key")),
        schema="app",
    )


    op.execute("create schema if not exists archive")
    op.create_table(
        "lifecycle_actions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("source_table", sa.Text(), nullable=False),
        sa.Column("archive_table", sa.Text(), nullable=True, comment="where rows went"),
        sa.Column("policy", sa.Text(), nullable=False,
                  comment="the rule, e.g. archive_after_days=730"),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]",
                  nullable=False, comment="the rows' primary keys"),
        sa.Column("blocked", postgresql.JSONB(astext_type=sa.Text()), server_default="[]",
                  nullable=False, comment="rows kept, each with the reason"),
        sa.Column("dependents", postgresql.JSONB(astext_type=sa.Text()), server_default="{}",
                  nullable=False, comment="rows of other tables moved along"),
        sa.Column("started_at", sa.DateTime(timezone=True), **_NOW),
        sa.CheckConstraint("action in ('archive', 'delete', 'purge')",
                           name=op.f("ck_lifecycle_actions_action_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_actions")),
        schema="ops",
    )
    op.create_index(op.f("ix_lifecycle_actions_started_at"), "lifecycle_actions",
                    ["started_at"], schema="ops")


def downgrade() -> None:
    op.drop_index(op.f("ix_lifecycle_actions_started_at"), "lifecycle_actions", schema="ops")
    op.drop_table("lifecycle_actions", schema="ops")
    op.execute("drop schema if exists archive cascade")
    op.drop_table("webhook_receipts", schema="app")
    op.drop_constraint(op.f("ck_contracts_payment_status_valid"), "contracts", schema="app")
    for column in ("payment_updated_at", "paid_at", "amount_paid", "payment_status"):
        op.drop_column("contracts", column, schema="app")
    op.drop_index(op.f("ix_crm_sync_log_object_type_object_id"), "crm_sync_log", schema="ops")
    op.drop_index(op.f("ix_crm_sync_log_run_id"), "crm_sync_log", schema="ops")
    op.drop_table("crm_sync_log", schema="ops")
