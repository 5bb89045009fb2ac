"""Reminders and escalations: found, notified on each user's channels, emailed over a real
SMTP server, exactly once, also across a crash and a server that is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation.notify import send_outbound_emails
from salesops.automation.reminders import dispatch_due_reminders, escalate_overdue_tasks
from salesops.mailer import Mailer
from salesops.models import NotificationPreference, Reminder, Task
from tests.automations.helpers import add_user, free_port, mail_settings

DOMAIN = "example.test"
NOW = datetime.now(UTC)


def _reminder(session: Session, user_id: int, minutes: int, key: str,
              task_id: int | None = None) -> int:
    reminder = Reminder(user_id=user_id, task_id=task_id, message=f"call back ({key})",
                        remind_at=NOW + timedelta(minutes=minutes), idempotency_key=key)
    session.add(reminder)
    session.flush()
    return reminder.id


def _scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_due_reminders_go_out_once_on_each_preferred_channel(clean_db, smtp):
    inbox, port = smtp
    with Session(clean_db) as session, session.begin():
        rita = add_user(session, "rita@example.com", "Rita Rep")
        omar = add_user(session, "omar@example.com", "Omar Only-App")
        session.add(NotificationPreference(user_id=omar, kind="reminder", channel="email",
                                           enabled=False))
        session.add(NotificationPreference(user_id=omar, kind="reminder", channel="in_app",
                                           enabled=True))
        task = Task(title="Call ACME", assignee_id=rita)
        session.add(task)
        session.flush()
        due = _reminder(session, rita, -5, "r-due", task.id)
        _reminder(session, omar, -1, "r-omar")
        later = _reminder(session, rita, +60, "r-later")

    for _ in range(2):  # a second run finds nothing new
        dispatch_due_reminders(clean_db, sender_domain=DOMAIN, now=NOW)
        with Mailer(mail_settings(port)) as mailer:
            send_outbound_emails(clean_db, mailer)

    assert inbox.to() == ["rita@example.com"]
    assert inbox.messages[0]["Subject"] == "Reminder: Call ACME"
    assert "call back (r-due)" in inbox.messages[0].get_content()
    assert _scalar(clean_db, "select count(*) from app.notifications where kind='reminder'") == 2
    assert _scalar(clean_db, "select channels_sent from app.reminders where id=:i", i=due) \
        == ["in_app", "email"]
    assert _scalar(clean_db, "select sent_at from app.reminders where id=:i", i=later) is None


def test_crash_between_send_and_mark_resends_the_same_message_id(clean_db, smtp):
    """The worker died after the server accepted the email but before it was marked sent:
    after the lease the email goes again with the same Message-ID, never a second one."""
    inbox, port = smtp
    with Session(clean_db) as session, session.begin():
        rita = add_user(session, "rita@example.com", "Rita Rep")
        _reminder(session, rita, -5, "r-crash")
    dispatch_due_reminders(clean_db, sender_domain=DOMAIN, now=NOW)
    with Mailer(mail_settings(port)) as mailer:
        send_outbound_emails(clean_db, mailer)
    first_id = inbox.ids()[0]
    # simulate the crash: the mark never happened
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.outbound_emails set status='sending', sent_at=null, "
                             "claimed_at=now()"))
    with Mailer(mail_settings(port)) as mailer:  # within the lease: left alone
        assert send_outbound_emails(clean_db, mailer).sent == 0
    with Mailer(mail_settings(port, lease_seconds=0)) as mailer:  # lease over: retried
        assert send_outbound_emails(clean_db, mailer,
                                    now=datetime.now(UTC) + timedelta(seconds=1)).sent == 1
    assert inbox.ids() == [first_id, first_id]
    assert _scalar(clean_db, "select status from app.outbound_emails") == "sent"


def test_smtp_down_then_up_sends_each_email_once(clean_db, smtp):
    inbox, port = smtp
    with Session(clean_db) as session, session.begin():
        rita = add_user(session, "rita@example.com", "Rita Rep")
        for i in range(3):
            _reminder(session, rita, -5, f"r-{i}")
    dispatch_due_reminders(clean_db, sender_domain=DOMAIN, now=NOW)
    with Mailer(mail_settings(free_port(), max_attempts=2)) as mailer:  # nobody listening
        report = send_outbound_emails(clean_db, mailer)
    assert (report.sent, report.failed) == (0, 1)  # it stopped at the first failure
    statuses = _scalar(clean_db, "select array_agg(status order by key) "
                       "from app.outbound_emails")
    assert sorted(statuses) == ["failed", "pending", "pending"]
    with Mailer(mail_settings(port)) as mailer:
        assert send_outbound_emails(clean_db, mailer).sent == 3
        assert send_outbound_emails(clean_db, mailer).sent == 0
    assert len(inbox.ids()) == len(set(inbox.ids())) == 3


def test_slow_smtp_server_is_retried_without_duplicates(clean_db, smtp):
    inbox, port = smtp
    with Session(clean_db) as session, session.begin():
        rita = add_user(session, "rita@example.com", "Rita Rep")
        _reminder(session, rita, -5, "r-slow")
    dispatch_due_reminders(clean_db, sender_domain=DOMAIN, now=NOW)
    inbox.answer = "451 4.3.0 try again later"
    with Mailer(mail_settings(port, max_attempts=2)) as mailer:
        assert send_outbound_emails(clean_db, mailer).failed == 1
    inbox.answer = None
    with Mailer(mail_settings(port)) as mailer:
        assert send_outbound_emails(clean_db, mailer).sent == 1
    assert len(inbox.ids()) == 1
    assert _scalar(clean_db, "select attempts from app.outbound_emails") == 2


def test_overdue_high_priority_tasks_escalate_to_the_manager_once(clean_db, smtp):
    inbox, port = smtp
    with Session(clean_db) as session, session.begin():
        boss = add_user(session, "mia@example.com", "Mia Manager", "sales_manager")
        rita = add_user(session, "rita@example.com", "Rita Rep", manager_id=boss)
        loner = add_user(session, "lou@example.com", "Lou Loner")
        late = NOW - timedelta(days=2)
        session.add_all([
            Task(title="Send the offer", priority="high", due_at=late, assignee_id=rita),
            Task(title="Low thing", priority="low", due_at=late, assignee_id=rita),
            Task(title="Done thing", priority="urgent", due_at=late, assignee_id=rita,
                 status="completed", completed_at=NOW),
            Task(title="Not yet late", priority="high", due_at=NOW - timedelta(hours=1),
                 assignee_id=rita),
            Task(title="No manager", priority="urgent", due_at=late, assignee_id=loner),
        ])
    first = escalate_overdue_tasks(clean_db, sender_domain=DOMAIN, now=NOW)
    again = escalate_overdue_tasks(clean_db, sender_domain=DOMAIN, now=NOW)
    assert (first.escalated, first.without_manager) == (1, 1)
    assert again.escalated == 0
    with Mailer(mail_settings(port)) as mailer:
        send_outbound_emails(clean_db, mailer)
    assert inbox.to() == ["mia@example.com"]
    assert "Send the offer" in inbox.messages[0]["Subject"]
    assert "Rita Rep" in inbox.messages[0].get_content()
    assert _scalar(clean_db, "select count(*) from app.notifications where user_id=:u "
                   "and kind='escalation'", u=boss) == 1
    assert _scalar(clean_db, "select title from app.tasks where escalated_at is not null") \
        == "Send the offer"
