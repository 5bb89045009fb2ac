"""Connections to external CRM, email and financial systems, and their sync runs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import Base, IdMixin, TimestampMixin, app_fk, one_of

SYNC_STATUSES = ("running", "succeeded", "failed", "partial")


class _Integration(IdMixin, TimestampMixin):
    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    is_enabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    settings: Mapped[dict] = mapped_column(server_default="{}", comment="no secrets")
    credentials_encrypted: Mapped[str | None] = mapped_column(sa.Text, comment="AES-GCM")
    last_synced_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[str | None] = mapped_column(sa.Text)


class CrmIntegration(_Integration, Base):
    __tablename__ = "crm_integrations"
    __table_args__ = (one_of("provider", ("salesforce", "hubspot", "csv")), {"schema": "app"})

    provider: Mapped[str] = mapped_column(sa.Text)


class EmailIntegration(_Integration, Base):
    __tablename__ = "email_integrations"
    __table_args__ = (one_of("provider", ("imap", "smtp", "mbox", "maildir")), {"schema": "app"})

    provider: Mapped[str] = mapped_column(sa.Text)
    mailbox_owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))


class FinancialIntegration(_Integration, Base):
    __tablename__ = "financial_integrations"
    __table_args__ = {"schema": "app"}

    provider: Mapped[str] = mapped_column(sa.Text, comment="webhook contract name")
    endpoint_url: Mapped[str | None] = mapped_column(sa.Text)


class IntegrationSyncRun(IdMixin, Base):
    __tablename__ = "integration_sync_runs"
    __table_args__ = (
        one_of("kind", ("crm", "email", "financial")), one_of("status", SYNC_STATUSES),
        one_of("direction", ("pull", "push")),
        sa.Index(None, "kind", "integration_id", "started_at"), {"schema": "app"},
    )

    kind: Mapped[str] = mapped_column(sa.Text)
    integration_id: Mapped[int] = mapped_column(sa.BigInteger)
    direction: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="running")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    records_in: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    records_out: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    errors: Mapped[list] = mapped_column(server_default="[]")


class WebhookReceipt(IdMixin, Base):
    """A signed webhook taken in, once per idempotency key: a replay finds its receipt."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (sa.UniqueConstraint("source", "idempotency_key"), {"schema": "app"})

    source: Mapped[str] = mapped_column(sa.Text, comment="e.g. finance.payments")
    idempotency_key: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=sa.func.now())
    body_sha256: Mapped[str] = mapped_column(sa.Text)
    outcome: Mapped[dict] = mapped_column(server_default="{}", comment="what it changed")
