"""A user's in-app notifications: newest first, by cursor; marking them read."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain.errors import NotFound
from salesops.models import Notification

_MINE = (Notification.channel == "in_app",)


def list_notifications(session: Session, user_id: int, *, unread_only: bool = False,
                       before_id: int | None = None,
                       limit: int = 50) -> tuple[list[Notification], int, int | None]:
    """(page, unread count, cursor for the next page or None)."""
    query = sa.select(Notification).where(Notification.user_id == user_id, *_MINE)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    unread = session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None), *_MINE))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, unread or 0, rows[-1].id if more else None


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or, with no id, all of them) read; returns how many changed.
    Another user's notification is NotFound, never a hint that it exists."""
    query = sa.update(Notification).where(Notification.user_id == user_id,
                                          Notification.read_at.is_(None), *_MINE)
    if notification_id is not None:
        exists = session.scalar(sa.select(Notification.id).where(
            Notification.id == notification_id, Notification.user_id == user_id))
        if exists is None:
            raise NotFound(f"No notification {notification_id}.")
        query = query.where(Notification.id == notification_id)
    return session.execute(query.values(read_at=datetime.now(UTC))
                           .execution_options(synchronize_session=False)).rowcount
