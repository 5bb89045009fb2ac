"""What the real-time feed may tell a user: their new notifications, the record changes
they may see, and the live figures of their work-queue header (`metrics`).

The WebSocket feed of the API hears `NOTIFY` on two channels and asks this module, per
connected user, what to push. A record change is pushed as the record reads for that user
now (permission-scoped, sensitive fields hidden, by `records.get`), or not at all: an event
of a kind without a read rule here, or of a record the user may not read, is never pushed.
The metrics are counted over what the user may read, and pushed again when they change.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events
from salesops.domain import leads, records
from salesops.domain.audit import Actor
from salesops.domain.contacts import ACCOUNTS, CONTACTS
from salesops.domain.deals import DEALS
from salesops.domain.errors import NotFound, PermissionDenied
from salesops.domain.leads import LEADS
from salesops.domain.sessions import LOGGED_OUT_TOPIC
from salesops.domain.tasks import TASKS
from salesops.domain.users import Principal
from salesops.models import Deal, Event, Lead, Notification, Task
from salesops.security import permissions

#: `NOTIFY` channel of new in-app notifications (the trigger of migration b8f2d4e6a1c3).
NOTIFICATIONS_CHANNEL = "salesops_notifications"
#: `NOTIFY` channel of the events outbox (`salesops.events.emit`).
EVENTS_CHANNEL = events.CHANNEL
CHANNELS = (NOTIFICATIONS_CHANNEL, EVENTS_CHANNEL)


#: An event's aggregate type -> the resource whose read rules decide who sees it.
RESOURCES: dict[str, records.Resource] = {
    r.entity: r for r in (ACCOUNTS, CONTACTS, LEADS, DEALS, TASKS)}


def notification(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def event(session: Session, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def visible_change(session: Session, principal: Principal, event: Event
                   ) -> dict[str, Any] | None:
    """The message telling `principal` about this event, or None if they may not know."""
    resource = RESOURCES.get(event.aggregate_type)
    if resource is None or not event.aggregate_id.isdigit():
        return None
    actor = Actor(principal)
    record_id = int(event.aggregate_id)
    record = None
    for deleted in (False, True):
        try:
            record = records.get(session, actor, resource, record_id, deleted=deleted)
            break
        except (NotFound, PermissionDenied):
            continue
    if record is None:
        return None
    return {"type": "record", "event_id": event.id, "topic": event.topic,
            "entity": event.aggregate_type, "id": record_id, "record": record}


def affects_metrics(event: Event) -> bool:
    return event.aggregate_type in RESOURCES


def metrics(session: Session, principal: Principal) -> dict[str, Any]:
    """The live figures of the user's work-queue header, over the records they may read
    (None where their role may not read the records or see the field)."""
    actor = Actor(principal)
    open_task = Task.status.in_(("open", "in_progress"))
    figures: dict[str, Any] = {"unread_notifications": session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == principal.id, Notification.channel == "in_app",
            Notification.read_at.is_(None)))}
    for name, resource, value, condition in (
            ("open_leads", LEADS, sa.func.count(), Lead.status.in_(leads.OPEN_STATUSES)),
            ("open_tasks", TASKS, sa.func.count(), open_task),
            ("overdue_tasks", TASKS, sa.func.count(), sa.and_(open_task,
                                                               Task.due_at < sa.func.now())),
            ("open_deals", DEALS, sa.func.count(), Deal.closed_at.is_(None)),
            ("open_pipeline_amount", DEALS, sa.func.coalesce(sa.func.sum(Deal.amount), 0),
             Deal.closed_at.is_(None))):
        scope = permissions.scope_of(principal.role, resource.name, "read")
        hidden = name.endswith("amount") and "amount" in permissions.hidden_fields(
            principal.role, resource.name)
        figures[name] = None if scope is None or hidden else session.scalar(
            sa.select(value).select_from(resource.model).where(
                resource.scope(actor, scope), resource.model.deleted_at.is_(None),
                condition))
    return figures


def logged_out_user(event: Event) -> int | None:
    """The user whose sessions this event ended, if it is a forced logout."""
    if event.topic == LOGGED_OUT_TOPIC and event.aggregate_id.isdigit():
        return int(event.aggregate_id)
    return None

