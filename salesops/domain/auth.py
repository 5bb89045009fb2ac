"""Logging in: checking a password, recording the attempt, locking out guessers.

- Every attempt lands in `app.login_attempts` with its IP and user agent. Failed attempts
  are written in their own transaction, so they stay recorded although the caller rolls
  back on the error; a success is written in the caller's transaction, with the login.
- An unknown email and a wrong password fail the same way (same error, same message) and
  take about the same time: a dummy hash is verified when there is no user.
- Lockout: failed attempts in a sliding window are counted per email (since its last
  success) and per IP. At the threshold the next attempt must wait a delay that doubles
  with every further failure, up to a cap. The count is by the email typed, not by the
  user, so locked-out unknown emails look like locked-out real ones.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain.errors import AuthenticationFailed, RateLimited
from salesops.domain.users import Principal, get_principal
from salesops.models import LoginAttempt, User
from salesops.security import SecuritySettings, get_security_settings
from salesops.security.passwords import (
    hash_password,
    needs_rehash,
    verify_dummy,
    verify_password,
)

MAX_EMAIL_LENGTH = 320
MAX_USER_AGENT_LENGTH = 512

_RECENT_FAILURES = sa.text("""
    with last_success as (
        select max(attempted_at) as at from app.login_attempts
        where email = cast(:email as citext) and succeeded
    ), failures as (
        select a.attempted_at,
               a.email = cast(:email as citext)
                   and a.attempted_at > coalesce((select at from last_success), '-infinity')
                   as by_user,
               coalesce(a.ip = cast(:ip as inet), false) as by_ip
        from app.login_attempts a
        where not a.succeeded and a.reason is distinct from 'locked'
          and a.attempted_at > now() - make_interval(secs => :window)
          and (a.email = cast(:email as citext) or a.ip = cast(:ip as inet))
    )
    select now(),
           count(*) filter (where by_user), max(attempted_at) filter (where by_user),
           count(*) filter (where by_ip), max(attempted_at) filter (where by_ip)
    from failures
""")


def lockout_delay(failures: int, threshold: int, base_seconds: int, max_seconds: int) -> int:
    """Seconds to wait after the last failure: 0 below the threshold, then base, 2x base..."""
    if failures < threshold:
        return 0
    return min(max_seconds, base_seconds * 2 ** min(failures - threshold, 32))


def _inet(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def lockout_remaining(session: Session, email: str, ip: str | None,
                      security: SecuritySettings | None = None) -> int:
    """Seconds this email or IP must still wait before trying again (0: may try now)."""
    s = security or get_security_settings()
    now, user_n, user_last, ip_n, ip_last = session.execute(
        _RECENT_FAILURES, {"email": email, "ip": _inet(ip),
                           "window": s.login_window_seconds}).one()

    def remaining(n: int, last: datetime | None, threshold: int) -> float:
        delay = lockout_delay(n, threshold, s.login_lockout_base_seconds,
                              s.login_lockout_max_seconds)
        return (last - now).total_seconds() + delay if delay and last else 0

    wait = max(remaining(user_n, user_last, s.login_max_failures_per_user),
               remaining(ip_n, ip_last, s.login_max_failures_per_ip))
    return math.ceil(wait) if wait > 0 else 0


def _attempt(email: str, user_id: int | None, ip: str | None, user_agent: str | None,
             succeeded: bool, reason: str | None) -> dict:
    return {"email": email, "user_id": user_id, "ip": ip, "user_agent": user_agent,
            "succeeded": succeeded, "reason": reason}


def _record_failure(session: Session, values: dict) -> None:
    """In a transaction of its own: the caller will roll back on the error we raise."""
    with session.get_bind().engine.begin() as conn:
        conn.execute(sa.insert(LoginAttempt).values(**values))


def authenticate(session: Session, email: str, password: str, ip: str | None,
                 user_agent: str | None, *,
                 security: SecuritySettings | None = None) -> Principal:
    """The user with this email and password, or AuthenticationFailed / RateLimited."""
    s = security or get_security_settings()
    email = (email or "").strip()[:MAX_EMAIL_LENGTH]
    ip = _inet(ip)
    user_agent = (user_agent or "")[:MAX_USER_AGENT_LENGTH] or None
    user = session.scalars(
        sa.select(User).where(User.email == email, User.deleted_at.is_(None))).first()
    user_id = user.id if user else None

    wait = lockout_remaining(session, email, ip, s)
    if wait:
        _record_failure(session, _attempt(email, user_id, ip, user_agent, False, "locked"))
        raise RateLimited(f"Too many failed login attempts; try again in {wait} seconds.",
                          retry_after=wait, code="login_locked")

    reason: str | None = None
    if user is None or not user.password_hash:
        verify_dummy(password, s)
        reason = "unknown_user" if user is None else "no_password"
    elif not verify_password(user.password_hash, password, s):
        reason = "bad_password"
    elif not user.is_active:
        reason = "inactive"
    if reason:
        _record_failure(session, _attempt(email, user_id, ip, user_agent, False, reason))
        raise AuthenticationFailed()

    values: dict = {"last_login_at": sa.func.now()}
    if needs_rehash(user.password_hash, s):
        values["password_hash"] = hash_password(password, s)
    # a plain UPDATE: logging in is not an edit, so the row's version is left alone
    session.execute(sa.update(User).where(User.id == user.id).values(**values))
    session.execute(sa.insert(LoginAttempt).values(
        **_attempt(email, user.id, ip, user_agent, True, None)))
    return get_principal(session, user.id)
