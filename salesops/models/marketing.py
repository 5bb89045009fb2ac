"""Campaigns, templates, members, per-recipient deliveries, and interactions."""

from __future__ import annotations

from datetime import date, datetime

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

CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "completed", "cancelled")
DELIVERY_STATUSES = ("queued", "sending", "sent", "delivered", "bounced", "failed",
                     "suppressed")
INTERACTION_KINDS = ("email", "call", "meeting")


class Campaign(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "marketing_campaigns"
    __table_args__ = (
        one_of("status", CAMPAIGN_STATUSES),
        sa.CheckConstraint("end_date is null or start_date is null or end_date >= start_date",
                           name="dates_ordered"),
        sa.CheckConstraint("budget is null or budget >= 0", name="budget_nonnegative"),
        sa.UniqueConstraint("source", "source_key"),
        {"schema": "app"},
    )

    name: Mapped[str] = mapped_column(sa.Text)
    channel: Mapped[str | None] = mapped_column(sa.Text)
    campaign_type: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="draft")
    start_date: Mapped[date | None] = mapped_column(sa.Date)
    end_date: Mapped[date | None] = mapped_column(sa.Date)
    budget: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    actual_cost: Mapped[float | None] = mapped_column(sa.Numeric(16, 2))
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    template_id: Mapped[int | None] = mapped_column(app_fk("communication_templates", "SET NULL"))
    audience: Mapped[dict] = mapped_column(server_default="{}", comment="segment definition")
    scheduled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text)
    approval_requested_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class CommunicationTemplate(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    __tablename__ = "communication_templates"
    __table_args__ = (one_of("channel", ("email", "sms", "in_app")), {"schema": "app"})

    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    channel: Mapped[str] = mapped_column(sa.Text, server_default="email")
    subject: Mapped[str | None] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))


class Segment(IdMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """An audience as a saved filter over contacts (`salesops.automation.segments`)."""

    __tablename__ = "segments"
    __table_args__ = {"schema": "app"}

    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    definition: Mapped[dict] = mapped_column(server_default="{}", comment="segment filter JSON")
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))


class CampaignMember(IdMixin, TimestampMixin, Base):
    __tablename__ = "campaign_members"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "contact_id"),
                      sa.UniqueConstraint("source", "source_key"), {"schema": "app"})

    campaign_id: Mapped[int] = mapped_column(app_fk("marketing_campaigns", "CASCADE"))
    contact_id: Mapped[int] = mapped_column(app_fk("contacts", "CASCADE"), index=True)
    lead_id: Mapped[int | None] = mapped_column(app_fk("leads", "SET NULL"))
    status: Mapped[str] = mapped_column(sa.Text, server_default="sent")
    responded_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text)


class CampaignDelivery(IdMixin, TimestampMixin, Base):
    """One message to one recipient. `sending` is claimed before the SMTP call and `sent`
    marked after it; a claim left by a dead worker is retried after its lease with the
    same Message-ID (derived from the idempotency key), so receivers can drop the copy."""

    __tablename__ = "campaign_deliveries"
    __table_args__ = (one_of("status", DELIVERY_STATUSES),
                      sa.UniqueConstraint("campaign_id", "contact_id"), {"schema": "app"})

    campaign_id: Mapped[int] = mapped_column(app_fk("marketing_campaigns", "CASCADE"))
    contact_id: Mapped[int] = mapped_column(app_fk("contacts", "CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(sa.Text, unique=True)
    status: Mapped[str] = mapped_column(sa.Text, server_default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    clicked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.Text, comment="the address it went to")
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    claimed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Interaction(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    """Emails, calls and meetings, linked to contacts and deals."""

    __tablename__ = "interactions"
    __table_args__ = (
        one_of("kind", INTERACTION_KINDS),
        one_of("direction", ("inbound", "outbound", "internal")),
        sa.UniqueConstraint("source", "source_key"),
        sa.Index(None, "contact_id", "occurred_at"),
        {"schema": "app"},
    )

    kind: Mapped[str] = mapped_column(sa.Text)
    direction: Mapped[str] = mapped_column(sa.Text)
    contact_id: Mapped[int | None] = mapped_column(app_fk("contacts", "SET NULL"))
    account_id: Mapped[int | None] = mapped_column(app_fk("accounts", "SET NULL"), index=True)
    deal_id: Mapped[int | None] = mapped_column(app_fk("sales_pipeline", "SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    subject: Mapped[str | None] = mapped_column(sa.Text)
    body: Mapped[str | None] = mapped_column(sa.Text, comment="reply text, quotes stripped")
    thread_id: Mapped[str | None] = mapped_column(sa.Text, index=True)
    message_id: Mapped[str | None] = mapped_column(sa.Text)
    in_reply_to: Mapped[str | None] = mapped_column(sa.Text)
    duration_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    source: Mapped[str | None] = mapped_column(sa.Text)
    source_key: Mapped[str | None] = mapped_column(sa.Text)
