"""The signed-in user's in-app notifications (reminders, escalations, ...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from api.schemas import error_responses
from api.schemas.notifications import NotificationPublic, NotificationsPublic
from salesops.automation.inbox import list_notifications, mark_read

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", response_model=NotificationsPublic, responses=error_responses(401),
            summary="My notifications, newest first")
def list_mine(session: SessionDep, user: CurrentUser,
              unread: Annotated[bool, Query(description="Only unread ones.")] = False,
              cursor: Annotated[int | None, Query(description="`next_cursor` of the "
                                                   "previous page.")] = None,
              limit: Annotated[int, Query(ge=1, le=200)] = 50) -> NotificationsPublic:
    rows, unread_count, next_cursor = list_notifications(
        session, user.id, unread_only=unread, before_id=cursor, limit=limit)
    return NotificationsPublic(data=[NotificationPublic.model_validate(r) for r in rows],
                               unread=unread_count, next_cursor=next_cursor)


@router.post("/{notification_id}/read", status_code=204, responses=error_responses(401, 404),
             summary="Mark one notification read")
def read_one(notification_id: int, session: SessionDep, user: CurrentUser) -> None:
    mark_read(session, user.id, notification_id)


@router.post("/read", status_code=204, responses=error_responses(401),
             summary="Mark all my notifications read")
def read_all(session: SessionDep, user: CurrentUser) -> None:
    mark_read(session, user.id)
