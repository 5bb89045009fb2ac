"""Due reminders and overdue high-priority tasks: found, notified once, then emailed.

`dispatch_due_reminders` takes due reminders with `FOR UPDATE SKIP LOCKED` and, in one
transaction per batch, notifies each owner (in-app row + queued email, by preference) and
stamps `sent_at`: a reminder is dispatched exactly once, whoever runs concurrently and
wherever a run dies. `channels_sent` then says which channels actually delivered (the
email is added when the SMTP server accepts it).

`escalate_overdue_tasks` does the same for open high/urgent tasks past due by more than a
grace period: the assignee's manager (else their team's manager) is notified and the task
stamped `escalated_at`, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation.notify import Notice, notify
from salesops.models import Reminder, Task, Team, User

ESCALATED_PRIORITIES = ("high", "urgent")
OPEN_STATUSES = ("open", "in_progress")


@dataclass(frozen=True)
class DispatchReport:
    dispatched: int
    in_app: int
    emails_queued: int


def dispatch_due_reminders(engine: sa.Engine, *, sender_domain: str,
                           now: datetime | None = None, batch_size: int = 200) -> DispatchReport:
    now = now or datetime.now(UTC)
    dispatched = in_app = emails = 0
    while True:
        with Session(engine) as session, session.begin():
            due = session.scalars(
                sa.select(Reminder).where(Reminder.sent_at.is_(None), Reminder.remind_at <= now)
                .order_by(Reminder.remind_at, Reminder.id).limit(batch_size)
                .with_for_update(skip_locked=True)).all()
            for reminder in due:
                user = session.get(User, reminder.user_id)
                task = session.get(Task, reminder.task_id) if reminder.task_id else None
                notice = Notice(kind="reminder", title=_reminder_title(reminder, task),
                                body=reminder.message,
                                payload={"reminder_id": reminder.id, "task_id": reminder.task_id})
                channels = notify(session, user, notice, reminder.idempotency_key,
                                  reminder_id=reminder.id, task_id=reminder.task_id,
                                  sender_domain=sender_domain)
                reminder.sent_at = now
                reminder.channels_sent = ["in_app"] if "in_app" in channels else []
                in_app += "in_app" in channels
                emails += "email" in channels
            dispatched += len(due)
        if len(due) < batch_size:
            return DispatchReport(dispatched, in_app, emails)


def _reminder_title(reminder: Reminder, task: Task | None) -> str:
    return f"Reminder: {task.title}" if task else "Reminder"


@dataclass(frozen=True)
class EscalationReport:
    escalated: int
    without_manager: int


def escalate_overdue_tasks(engine: sa.Engine, *, sender_domain: str,
                           grace: timedelta = timedelta(hours=24),
                           now: datetime | None = None) -> EscalationReport:
    """Notify the manager of each open high-priority task overdue by more than `grace`."""
    now = now or datetime.now(UTC)
    escalated = orphaned = 0
    with Session(engine) as session, session.begin():
        tasks = session.scalars(
            sa.select(Task).where(
                Task.escalated_at.is_(None), Task.deleted_at.is_(None),
                Task.priority.in_(ESCALATED_PRIORITIES), Task.status.in_(OPEN_STATUSES),
                Task.due_at < now - grace, Task.assignee_id.is_not(None))
            .order_by(Task.due_at, Task.id).with_for_update(skip_locked=True)).all()
        for task in tasks:
            assignee = session.get(User, task.assignee_id)
            manager = _manager_of(session, assignee)
            if manager is None:
                orphaned += 1  # stays unescalated, so it goes out once a manager is set
                continue
            late = now - task.due_at
            notice = Notice(
                kind="escalation", title=f"Overdue {task.priority} task: {task.title}",
                body=(f"{assignee.full_name}'s {task.priority}-priority task "
                      f"\"{task.title}\" was due {task.due_at:%Y-%m-%d %H:%M} UTC "
                      f"({_hours(late)} overdue)."),
                payload={"task_id": task.id, "assignee_id": assignee.id})
            notify(session, manager, notice, f"escalation:{task.id}", task_id=task.id,
                   sender_domain=sender_domain)
            # a plain UPDATE: escalating is not an edit, so the task's version stays
            session.execute(sa.update(Task).where(Task.id == task.id)
                            .values(escalated_at=now)
                            .execution_options(synchronize_session=False))
            escalated += 1
    return EscalationReport(escalated, orphaned)


def _manager_of(session: Session, user: User) -> User | None:
    manager_id = user.manager_id
    if manager_id is None and user.team_id is not None:
        manager_id = session.scalar(sa.select(Team.manager_id).where(Team.id == user.team_id))
    if manager_id is None or manager_id == user.id:
        return None
    manager = session.get(User, manager_id)
    return manager if manager and manager.is_active and manager.deleted_at is None else None


def _hours(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"
