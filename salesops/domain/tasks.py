"""Tasks: assignment, due dates, priorities, completion.

A task belongs to its assignee and its creator (both may work it, by the permission
table's `own`). It may be about one lead, deal or contact (`related_type`, `related_id`).
Completing a task about a new lead moves the lead to `working`: someone worked it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import records
from salesops.domain.audit import Actor
from salesops.domain.contacts import CONTACTS
from salesops.domain.deals import DEALS
from salesops.domain.errors import Conflict, InvalidInput
from salesops.domain.leads import LEADS
from salesops.domain.records import Filter, Resource, columns, names
from salesops.models import Lead, Task

RELATED = {"lead": "lead_id", "deal": "deal_id", "contact": "contact_id"}
#: Statuses a person may set by hand; completion has its own action.
OPEN_STATUSES = ("open", "in_progress", "cancelled")

_related_type = sa.case(*((getattr(Task, col).is_not(None), kind)
                          for kind, col in RELATED.items()), else_=sa.null())
_related_id = sa.func.coalesce(*(getattr(Task, col) for col in RELATED.values()))

TASKS = Resource(
    name="tasks", entity="task", model=Task,
    fields={**columns(Task, "id title description status priority task_type due_at "
                      "completed_at assignee_id created_by contact_id lead_id deal_id"),
            "related_type": _related_type, "related_id": _related_id,
            **columns(Task, "escalated_at created_at updated_at deleted_at version")},
    writable=names("title description status priority task_type due_at assignee_id "
                   "contact_id lead_id deal_id"),
    sorts=("id", "due_at", "created_at", "updated_at", "completed_at"),
    default_sort="due_at",
    filters={"assignee_id": Filter(Task.assignee_id, int, user=True),
             "created_by": Filter(Task.created_by, int, user=True),
             "status": Filter(Task.status), "priority": Filter(Task.priority),
             "due_after": Filter(Task.due_at, dt.datetime, "gte"),
             "due_before": Filter(Task.due_at, dt.datetime, "lt"),
             "lead_id": Filter(Task.lead_id, int), "deal_id": Filter(Task.deal_id, int),
             "contact_id": Filter(Task.contact_id, int)},
    owners=("assignee_id", "created_by"),
    references={"contact_id": CONTACTS, "lead_id": LEADS, "deal_id": DEALS})


def _related(values: dict[str, Any]) -> dict[str, Any]:
    """`related_type` + `related_id` become the matching column; the others are cleared."""
    values = dict(values)
    kind, related_id = values.pop("related_type", None), values.pop("related_id", None)
    if kind is None and related_id is None:
        return values
    if kind not in RELATED or related_id is None:
        raise InvalidInput(f"related_type must be one of {', '.join(RELATED)}, with a "
                           "related_id.", field="related_type")
    return {**values, **{col: related_id if k == kind else None for k, col in RELATED.items()}}


def create_task(session: Session, actor: Actor, values: dict[str, Any]) -> Task:
    values = _related(values)
    if not (values.get("title") or "").strip():
        raise InvalidInput("A task needs a title.", field="title")
    if values.get("status", "open") not in OPEN_STATUSES[:2]:
        raise InvalidInput("A new task is open or in_progress.", field="status")
    return records.create(session, actor, TASKS, values, extra={"created_by": actor.id})


def update_task(session: Session, actor: Actor, task_id: int, values: dict[str, Any],
                version: int | None) -> Task:
    values = _related(values)
    if "status" in values and values["status"] not in OPEN_STATUSES:
        raise InvalidInput(f"status can be set to {', '.join(OPEN_STATUSES)}; complete a task "
                           "with its own action.", field="status", code="invalid_transition")
    task = records.load_for_write(session, actor, TASKS, task_id,
                                  version=records.require_version(version))
    reopened = values.get("status") in ("open", "in_progress")
    return records.change(session, actor, TASKS, task, values,
                          extra={"completed_at": None} if reopened else None)


def complete(session: Session, actor: Actor, task_id: int, version: int | None = None) -> Task:
    task = records.load_for_write(session, actor, TASKS, task_id, version=version)
    if task.status == "completed":
        return task
    if task.status == "cancelled":
        raise Conflict("The task was cancelled; reopen it before completing it.",
                       code="invalid_transition")
    records.change(session, actor, TASKS, task, {}, check=False, action="complete",
                   topic="task.completed",
                   extra={"status": "completed", "completed_at": sa.func.now()})
    if task.lead_id is not None:
        lead = session.get(Lead, task.lead_id, with_for_update=True)
        if lead is not None and lead.status == "new":
            records.change(session, actor, LEADS, lead, {}, check=False,
                           extra={"status": "working"}, payload={"task_id": task.id})
    return task
