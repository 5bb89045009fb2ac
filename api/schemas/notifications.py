"""The in-app notification feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str | None
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationsPublic(BaseModel):
    data: list[NotificationPublic]
    unread: int
    next_cursor: int | None = None
