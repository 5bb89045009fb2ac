"""Tasks, reminders, notifications and each user's notification preferences."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import (
    Base,
    IdMixin,
    SoftDeleteMixin,
    TimestampMixin,
    VersionMixin,
    app_fk,
    one_of,
)

TASK_STATUSES = ("open", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("in_app", "email")


class Task(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        one_of("status", TASK_STATUSES), one_of("priority", PRIORITIES),
        sa.CheckConstraint("status <> 'completed' or completed_at is not null",
                           name="completed_has_time"),
        sa.Index(None, "assignee_id", "status", "due_at"),
        sa.UniqueConstraint("source", "source_key"),
        {"schema": "app"},
    )

    title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="open")
    priority: Mapped[str] = mapped_column(sa.Text, server_default="normal")
    task_type: Mapped[str | None] = mapped_column(sa.Text, comment="call, email, meeting, todo")
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    assignee_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    created_by: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(app_fk("contacts", "CASCADE"), index=True)
    lead_id: Mapped[int | None] = mapped_column(app_fk("leads", "CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(app_fk("sales_pipeline", "CASCADE"), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text)


class Reminder(IdMixin, TimestampMixin, Base):
    """Sent exactly once: the idempotency key is claimed before sending."""

    __tablename__ = "reminders"
    __table_args__ = (sa.Index("ix_reminders_due_unsent", "remind_at",
                               postgresql_where=sa.text("sent_at is null")), {"schema": "app"})

    task_id: Mapped[int | None] = mapped_column(app_fk("tasks", "CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(app_fk("users", "CASCADE"), index=True)
    remind_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    message: Mapped[str] = mapped_column(sa.Text)
    idempotency_key: Mapped[str] = mapped_column(sa.Text, unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    channels_sent: Mapped[list] = mapped_column(server_default="[]")


class Notification(IdMixin, TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (one_of("channel", CHANNELS),
                      sa.Index(None, "user_id", "read_at", "created_at"), {"schema": "app"})

    user_id: Mapped[int] = mapped_column(app_fk("users", "CASCADE"))
    kind: Mapped[str] = mapped_column(sa.Text, comment="reminder, score_jump, escalation, ...")
    channel: Mapped[str] = mapped_column(sa.Text, server_default="in_app")
    title: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str | None] = mapped_column(sa.Text)
    payload: Mapped[dict] = mapped_column(server_default="{}")
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class NotificationPreference(TimestampMixin, Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (one_of("channel", CHANNELS), {"schema": "app"})

    user_id: Mapped[int] = mapped_column(app_fk("users", "CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())


OUTBOUND_STATUSES = ("pending", "sending", "sent", "failed")


class OutboundEmail(TimestampMixin, Base):
    """An email to a user (reminder, escalation), queued in the transaction that decided it.

    `key` names what it is for (e.g. `reminder:12:email`), so it is queued once; it is
    claimed (`sending`) before the SMTP call and marked `sent` after, and a claim left by a
    dead worker is retried after its lease with the same Message-ID.
    """

    __tablename__ = "outbound_emails"
    __table_args__ = (one_of("status", OUTBOUND_STATUSES),
                      sa.Index("ix_outbound_emails_unsent", "status",
                               postgresql_where=sa.text("status <> 'sent'")),
                      {"schema": "app"})

    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.Text, comment="reminder, escalation, ...")
    user_id: Mapped[int] = mapped_column(app_fk("users", "CASCADE"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(app_fk("reminders", "CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(app_fk("tasks", "CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(sa.Text)
