"""What the automation tests share: a recording SMTP handler that can be made slow or
refuse, mail settings pointing at it, and users, contacts and campaigns to send to."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.mailer import MailSettings

SECRET = "test-secret-key-for-tracking-links"
BASE_URL = "http://testserver"
AUDIENCE_MQL = {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["mql", "sql"]}]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """What the server accepted, and knobs to make it misbehave."""

    messages: list[Message] = field(default_factory=list)
    delay_seconds: float = 0.0
    answer: str | None = None  # e.g. "451 try later": refuse DATA with this
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # blocks the server: a slow server, really
        if self.answer:
            return self.answer
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]

    def to(self) -> list[str]:
        with self.lock:
            return [m["To"] for m in self.messages]


def mail_settings(port: int, **overrides) -> MailSettings:
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "max_per_second": 0,
              "retry_backoff_seconds": 0.01, "timeout_seconds": 2, "lease_seconds": 600,
              "sender": "salesops <no-reply@example.com>", **overrides}
    return MailSettings(_env_file=None, **values)


def add_user(session: Session, email: str, name: str, role: str = "sales_rep",
             manager_id: int | None = None) -> int:
    from salesops.domain.users import create_user

    user = create_user(session, email, name, None, role)
    user.manager_id = manager_id
    session.flush()
    return user.id


def add_contacts(engine: sa.Engine, rows: list[dict]) -> list[int]:
    with engine.begin() as conn:
        return [conn.execute(sa.text(
            "insert into app.contacts (first_name, last_name, email, email_normalized, title, "
            "lifecycle_stage, marketing_consent, email_opt_out, account_id) values "
            "(:first_name, :last_name, cast(:email as text), app.normalize_email(:email), "
            ":title, :stage, :consent, :opt_out, :account_id) returning id"),
            {"first_name": None, "last_name": None, "title": None, "stage": "lead",
             "consent": True, "opt_out": False, "account_id": None, **row}).scalar_one()
            for row in rows]


def add_campaign(engine: sa.Engine, audience: dict, body: str, *,
                 subject: str = "Hello {{ first_name }}", status: str = "scheduled",
                 name: str = "Spring launch") -> int:
    with engine.begin() as conn:
        template_id = conn.execute(sa.text(
            "insert into app.communication_templates (name, subject, body) "
            "values (:n, :s, :b) returning id"),
            {"n": f"tpl-{name}", "s": subject, "b": body}).scalar_one()
        return conn.execute(sa.text(
            "insert into app.marketing_campaigns (name, status, template_id, audience, "
            "scheduled_at) values (:n, :st, :t, cast(:a as jsonb), now() - interval '1 minute')"
            " returning id"),
            {"n": name, "st": status, "t": template_id, "a": json.dumps(audience)}
        ).scalar_one()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
