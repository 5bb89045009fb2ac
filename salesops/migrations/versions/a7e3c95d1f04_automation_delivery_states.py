"""automation delivery states: campaign deliveries claimed before sending; user emails queue

Revision ID: a7e3c95d1f04
Revises: a7e3c1b9d5f2
Create Date: 2026-11-26 00:30:00

A campaign delivery gains a `sending` state (claimed before the SMTP call), the address it
went to, its Message-ID and the claim time; `app.outbound_emails` queues the emails sent to
users (reminders, escalations) with the same claim/sent state machine.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7e3c95d1f04"
down_revision: str | Sequence[str] | None = "a7e3c1b9d5f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status in ('queued', 'sent', 'delivered', 'bounced', 'failed', 'suppressed')"
NEW = ("status in ('queued', 'sending', 'sent', 'delivered', 'bounced', 'failed', "
       "'suppressed')")


def upgrade() -> None:
    op.drop_constraint(op.f("ck_campaign_deliveries_status_valid"), "campaign_deliveries",
                       schema="app")
    op.create_check_constraint(op.f("ck_campaign_deliveries_status_valid"), "campaign_deliveries",
                               NEW, schema="app")
    for name, type_ in (("email", sa.Text()), ("message_id", sa.Text()),
                        ("claimed_at", sa.DateTime(timezone=True))):
        op.add_column("campaign_deliveries", sa.Column(name, type_, nullable=True,
                      comment="the address it went to" if name == "email" else None),
                      schema="app")
    op.create_table(
        "outbound_emails",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False, comment="reminder, escalation, ..."),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("reminder_id", sa.BigInteger(), nullable=True),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.CheckConstraint("status in ('pending', 'sending', 'sent', 'failed')",
                           name=op.f("ck_outbound_emails_status_valid")),
        sa.ForeignKeyConstraint(["user_id"], ["app.users.id"], ondelete="CASCADE",
                                name=op.f("fk_outbound_emails_user_id_users")),
        sa.ForeignKeyConstraint(["reminder_id"], ["app.reminders.id"], ondelete="CASCADE",
                                name=op.f("fk_outbound_emails_reminder_id_reminders")),
        sa.ForeignKeyConstraint(["task_id"], ["app.tasks.id"], ondelete="CASCADE",
                                name=op.f("fk_outbound_emails_task_id_tasks")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_outbound_emails")),
        schema="app",
    )
    for column in ("user_id", "reminder_id", "task_id"):
        op.create_index(op.f(f"ix_outbound_emails_{column}"), "outbound_emails", [column],
                        schema="app")
    op.create_index("ix_outbound_emails_unsent", "outbound_emails", ["status"], schema="app",
                    postgresql_where=sa.text("status <> 'sent'"))


def downgrade() -> None:
    op.drop_table("outbound_emails", schema="app")
    for name in ("claimed_at", "message_id", "email"):
        op.drop_column("campaign_deliveries", name, schema="app")
    op.execute("update app.campaign_deliveries set status = 'queued' "
               "where status = 'sending'")
    op.drop_constraint(op.f("ck_campaign_deliveries_status_valid"), "campaign_deliveries",
                       schema="app")
    op.create_check_constraint(op.f("ck_campaign_deliveries_status_valid"), "campaign_deliveries",
                               OLD, schema="app")
