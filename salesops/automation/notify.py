"""Telling a user something: an in-app notification and/or an email, by their preferences.

In-app notifications are rows written in the caller's transaction, so they exist exactly
when the decision to notify does. Emails are queued in `app.outbound_emails` in that same
transaction and sent afterwards by `send_outbound_emails`, which claims each one
(`sending`) before the SMTP call and marks it `sent` after: a worker that dies in between
leaves a claim that is retried, with the same Message-ID, once its lease has run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from salesops.mailer import Mailer, MailError, PermanentMailError, build_message, message_id
from salesops.models import Notification, NotificationPreference, OutboundEmail, User
from salesops.models.work import CHANNELS

#: Channels a user gets for a kind of notification they have no preference rows for.
DEFAULT_CHANNELS: tuple[str, ...] = CHANNELS


def preferred_channels(session: Session, user_id: int, kind: str) -> list[str]:
    """The channels enabled for this user and kind; the defaults when none are set."""
    rows = session.execute(sa.select(NotificationPreference.channel,
                                     NotificationPreference.enabled)
                           .where(NotificationPreference.user_id == user_id,
                                  NotificationPreference.kind == kind)).all()
    if not rows:
        return list(DEFAULT_CHANNELS)
    return [channel for channel in CHANNELS if (channel, True) in rows]


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str
    body: str
    payload: dict


def notify(session: Session, user: User, notice: Notice, key: str, *,
           reminder_id: int | None = None, task_id: int | None = None,
           sender_domain: str) -> list[str]:
    """Notify `user` on their preferred channels, in the caller's transaction; returns
    the channels used. `key` (e.g. `reminder:12`) names the notice, so its email is queued
    once however often this is called."""
    channels = preferred_channels(session, user.id, notice.kind)
    if "in_app" in channels:
        session.add(Notification(user_id=user.id, kind=notice.kind, channel="in_app",
                                 title=notice.title, body=notice.body,
                                 payload={**notice.payload, "key": key}))
    if "email" in channels:
        email_key = f"{key}:email"
        session.execute(insert(OutboundEmail).values(
            key=email_key, kind=notice.kind, user_id=user.id, reminder_id=reminder_id,
            task_id=task_id, recipient=user.email, subject=notice.title, body=notice.body,
            message_id=message_id(email_key, sender_domain),
        ).on_conflict_do_nothing(index_elements=["key"]))
    session.flush()
    return channels


def relaxed_commit(conn: sa.Connection) -> None:
    """Let this transaction commit without waiting for its WAL flush.

    Used for the claim and sent marks of email deliveries: if the database crashed before
    the flush, a mark is lost and that message goes again under its same Message-ID, which
    is the guarantee a dead worker already gives; waiting for an fsync per message would
    cap sending at the disk's flush rate.
    """
    conn.execute(sa.text("set local synchronous_commit = off"))


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0


_CLAIM_EMAILS = sa.text("""
    update app.outbound_emails set status = 'sending', attempts = attempts + 1,
           claimed_at = now(), updated_at = now()
    where key in (
        select key from app.outbound_emails
        where (status = 'pending'
               or (status = 'failed' and attempts < :max_attempts and updated_at < :started)
               or (status = 'sending' and claimed_at < :stale_before))
        order by created_at, key
        limit :limit
        for update skip locked)
    returning key, recipient, subject, body, message_id, reminder_id
""")


def send_outbound_emails(engine: sa.Engine, mailer: Mailer, *, batch_size: int = 100,
                         now: datetime | None = None) -> SendReport:
    """Send every queued user email; a batch is claimed (and committed) before sending."""
    s = mailer.settings
    report = SendReport()
    started = datetime.now(UTC)  # what fails in this run waits for the next one
    while True:
        stale_before = (now or datetime.now(UTC)) - timedelta(seconds=s.lease_seconds)
        with engine.begin() as conn:
            relaxed_commit(conn)
            claimed = conn.execute(_CLAIM_EMAILS, {
                "max_attempts": s.max_delivery_attempts, "stale_before": stale_before,
                "limit": batch_size, "started": started}).all()
        if not claimed:
            return report
        for i, row in enumerate(claimed):
            msg = build_message(s.sender, row.recipient, row.subject, row.body,
                                msg_id=row.message_id)
            try:
                mailer.send(msg)
            except MailError as exc:
                _mark_failed(engine, row.key, exc)
                report.failed += 1
                if isinstance(exc, PermanentMailError):
                    continue
                # the server is down or slow: give the rest back and stop this run
                _release(engine, [r.key for r in claimed[i + 1:]])
                return report
            with engine.begin() as conn:
                relaxed_commit(conn)
                conn.execute(sa.text(
                    "update app.outbound_emails set status = 'sent', sent_at = now(), "
                    "error = null, updated_at = now() where key = :key"), {"key": row.key})
                if row.reminder_id is not None:
                    _reminder_email_sent(conn, row.reminder_id)
            report.sent += 1


def _release(engine: sa.Engine, keys: list[str]) -> None:
    """Claimed but not tried: back to the queue, the attempt not counted."""
    if keys:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "update app.outbound_emails set status = 'pending', attempts = attempts - 1, "
                "claimed_at = null, updated_at = now() where key = any(:keys)"),
                {"keys": keys})


def _mark_failed(engine: sa.Engine, key: str, exc: MailError) -> None:
    # a permanent refusal is not retried: attempts jumps to the limit
    with engine.begin() as conn:
        conn.execute(sa.text(
            "update app.outbound_emails set status = 'failed', error = :error, "
            "attempts = case when :permanent then 1000000 else attempts end, "
            "updated_at = now() where key = :key"),
            {"key": key, "error": str(exc)[:2000],
             "permanent": isinstance(exc, PermanentMailError)})


def _reminder_email_sent(conn: sa.Connection, reminder_id: int) -> None:
    conn.execute(sa.text(
        "update app.reminders set updated_at = now(), "
        "channels_sent = case when channels_sent ? 'email' then channels_sent "
        "else channels_sent || '[\"email\"]'::jsonb end where id = :id"), {"id": reminder_id})
