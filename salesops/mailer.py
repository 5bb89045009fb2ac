"""Sending email over SMTP: any server by configuration, one connection reused, throttled,
with retries for what a retry can fix.

    with Mailer(MailSettings()) as mailer:
        mailer.send(build_message(...))

A transient failure (server down or slow, connection dropped, a 4xx answer) is retried
`max_attempts` times with a growing pause, reconnecting each time, and then raised as
`TransientMailError`; a permanent one (a 5xx answer, every recipient refused) is raised at
once as `PermanentMailError`. Callers record either on the delivery and move on.

Every message carries a Message-ID derived from its idempotency key (`message_id`): if a
worker dies after the server accepted a message but before it recorded that, the retry
sends the same Message-ID, which receivers use to drop the copy.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from salesops.errors import SalesopsError


class MailSettings(BaseSettings):
    """SALESOPS_MAIL_* from the environment or `.env`."""

    model_config = SettingsConfigDict(env_prefix="SALESOPS_MAIL_", env_file=".env",
                                      extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = Field(False, description="Implicit TLS (port 465) instead of STARTTLS.")
    timeout_seconds: float = Field(10.0, description="Per SMTP command; a slower server "
                                   "counts as a transient failure.")
    sender: str = "salesops <no-reply@salesops.local>"
    message_id_domain: str = "salesops.local"
    max_per_second: float = Field(20.0, description="Throttle: at most this many messages "
                                  "a second per worker; 0 for no limit.")
    max_attempts: int = Field(3, ge=1, description="Tries per message within one run.")
    retry_backoff_seconds: float = Field(1.0, description="Pause before the 2nd try; doubles.")
    lease_seconds: int = Field(600, description="A message claimed this long ago and never "
                               "marked sent is presumed lost with its worker and retried.")
    max_delivery_attempts: int = Field(5, description="Runs that may retry a failed message "
                                       "before it stays failed.")
    tracking_base_url: str = Field("http://127.0.0.1:8000", description="Where the API "
                                   "serving open pixels, click redirects and unsubscribes is.")


class MailError(SalesopsError):
    """A message could not be sent."""


class TransientMailError(MailError):
    """The server was unreachable, slow, or said try later: a later run may succeed."""


class PermanentMailError(MailError):
    """The server refused the message for good (5xx): retrying will not help."""


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP

_TRANSIENT = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
              smtplib.SMTPHeloError, socket.timeout)


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the message with this idempotency key: the same on every retry."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def build_message(sender: str, to: str, subject: str, text: str, *, html: str | None = None,
                  msg_id: str, headers: dict[str, str] | None = None,
                  to_name: str | None = None) -> Message:
    """A text (and HTML alternative) message, UTF-8, quoted-printable.

    Built with the `email.mime` classes (the compat32 policy): several times faster than
    `EmailMessage`'s header registry, which a campaign of many thousands feels.
    """
    text_part = MIMEText(text, "plain", _UTF8)
    if html is None:
        msg: Message = text_part
    else:
        # the parts are quoted-printable, which writes "=" as "=3D": no line of theirs can
        # hold "=_", so a boundary starting with it needs no search (the generator's own
        # search compiles a regex per message)
        boundary = "=_" + "".join(ch for ch in msg_id if ch.isalnum())[:60]
        msg = MIMEMultipart("alternative", boundary=boundary)
        for part in (text_part, MIMEText(html, "html", _UTF8)):
            del part["MIME-Version"]  # said once, at the top
            msg.attach(part)
    msg["From"] = sender
    msg["To"] = formataddr((to_name, to), "utf-8") if to_name else to
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = msg_id
    for name, value in (headers or {}).items():
        msg[name] = value
    return msg


class _BeforeData:
    """Calls `before_data`, when set, once the envelope is accepted and before the message
    goes: the point after which the server may accept it."""

    before_data: Callable[[], None] | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        if self.before_data is not None:
            self.before_data()
        return super().data(msg)  # type: ignore[misc]


class _SMTP(_BeforeData, smtplib.SMTP):
    pass


class _SMTPSSL(_BeforeData, smtplib.SMTP_SSL):
    pass


class Mailer:
    """One SMTP connection, opened on first use and reopened after a failure."""

    def __init__(self, settings: MailSettings | None = None) -> None:
        self.settings = settings or MailSettings()
        self._smtp: _SMTP | _SMTPSSL | None = None
        self._next_slot = 0.0
        self.sent = 0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> _SMTP | _SMTPSSL:
        s = self.settings
        if s.smtp_ssl:
            smtp: _SMTP | _SMTPSSL = _SMTPSSL(s.smtp_host, s.smtp_port,
                                              timeout=s.timeout_seconds,
                                              context=ssl.create_default_context())
        else:
            smtp = _SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds)
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password or "")
        return smtp

    def _throttle(self) -> None:
        if self.settings.max_per_second <= 0:
            return
        now = time.monotonic()
        if self._next_slot > now:
            time.sleep(self._next_slot - now)
        self._next_slot = max(now, self._next_slot) + 1.0 / self.settings.max_per_second

    def send(self, msg: Message, *, before_data: Callable[[], None] | None = None) -> None:
        """Send one message; raise TransientMailError or PermanentMailError.

        `before_data` runs after the server took the envelope and before the message is
        sent (campaigns wait there for the previous message's mark).
        """
        s = self.settings
        pause = s.retry_backoff_seconds
        for attempt in range(1, s.max_attempts + 1):
            self._throttle()
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.before_data = before_data
                self._smtp.send_message(msg)
                self.sent += 1
                return
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if all(code >= 500 for code in codes):
                    raise PermanentMailError(f"recipient refused: {exc.recipients}") from exc
                error: Exception = exc
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code >= 500:
                    self._reset()
                    raise PermanentMailError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") \
                        from exc
                error = exc
            except _TRANSIENT as exc:
                error = exc
            except BaseException:  # from before_data, mid-transaction: start afresh
                self._drop()
                raise
            self._drop()
            if attempt < s.max_attempts:
                time.sleep(pause)
                pause *= 2
        raise TransientMailError(f"SMTP {s.smtp_host}:{s.smtp_port} failed {s.max_attempts} "
                                 f"times, last: {type(error).__name__}: {error}") from error

    def _reset(self) -> None:
        """After a refused message the connection is still good: clear its state."""
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
