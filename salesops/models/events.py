"""The outbox: domain events written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import Base, IdMixin


class Event(IdMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_unprocessed", "topic", "id",
                 postgresql_where=sa.text("processed_at is null")),
        {"schema": "app"},
    )

    topic: Mapped[str] = mapped_column(sa.Text, comment="e.g. lead.created, deal.stage_changed")
    aggregate_type: Mapped[str] = mapped_column(sa.Text)
    aggregate_id: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict] = mapped_column(server_default="{}")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    processed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
