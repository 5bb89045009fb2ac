"""Passwords, tokens and the login rules, against the real database and Redis."""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain.auth import authenticate, lockout_delay, lockout_remaining
from salesops.domain.errors import AuthenticationFailed, Conflict, InvalidInput, RateLimited
from salesops.domain.users import create_user, ensure_roles, get_principal
from salesops.security import SecuritySettings
from salesops.security.passwords import (
    hash_password,
    needs_rehash,
    verify_dummy,
    verify_password,
)
from salesops.security.tokens import InvalidAccessToken, InvalidRefreshToken, TokenService

#: cheap argon2 and a small lockout threshold, set the way an operator would
FAST = SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1,
                        login_max_failures_per_user=3, login_max_failures_per_ip=6,
                        login_lockout_base_seconds=10, login_lockout_max_seconds=600)
SECRET = "x" * 48
PASSWORD = "correct horse battery"


# passwords

def test_hash_verifies_and_rejects_wrong_password():
    h = hash_password(PASSWORD, FAST)
    assert h.startswith("$argon2id$")
    assert verify_password(h, PASSWORD, FAST)
    assert not verify_password(h, "wrong", FAST)
    assert not verify_password("not-a-hash", PASSWORD, FAST)
    assert not verify_dummy(PASSWORD, FAST)


def test_needs_rehash_when_parameters_change():
    h = hash_password(PASSWORD, FAST)
    assert not needs_rehash(h, FAST)
    stronger = FAST.model_copy(update={"argon2_time_cost": 2})
    assert needs_rehash(h, stronger)
    assert verify_password(h, PASSWORD, stronger)  # old hashes still verify


# tokens

@pytest.fixture
def tokens(redis_url) -> TokenService:
    client = redis.Redis.from_url(redis_url)
    return TokenService(client, SECRET, prefix=f"test-{uuid.uuid4().hex[:8]}")


def test_access_token_round_trip(tokens):
    pair = tokens.issue(42)
    claims = tokens.decode_access_token(pair.access_token)
    assert (claims.user_id, claims.session_id) == (42, pair.session_id)
    assert pair.expires_in == 15 * 60 and pair.token_type == "bearer"


def test_tampered_expired_and_foreign_tokens_are_rejected(tokens, redis_url):
    pair = tokens.issue(1)
    with pytest.raises(InvalidAccessToken):
        tokens.decode_access_token(pair.access_token[:-2] + "xx")
    other = TokenService(tokens.redis, "y" * 48, prefix=tokens.prefix)
    with pytest.raises(InvalidAccessToken):
        other.decode_access_token(pair.access_token)
    expired = TokenService(tokens.redis, SECRET, prefix=tokens.prefix,
                           access_ttl=timedelta(seconds=-1))
    with pytest.raises(InvalidAccessToken):
        tokens.decode_access_token(expired.create_access_token(1, pair.session_id))
    with pytest.raises(InvalidAccessToken):
        tokens.decode_access_token(pair.refresh_token)


def test_refresh_rotates_and_spends_the_old_token(tokens):
    first = tokens.issue(7)
    second = tokens.rotate(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id and second.user_id == 7
    third = tokens.rotate(second.refresh_token)
    assert tokens.decode_access_token(third.access_token).user_id == 7


def test_replaying_a_spent_refresh_token_revokes_the_family(tokens):
    first = tokens.issue(7)
    second = tokens.rotate(first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        tokens.rotate(first.refresh_token)  # the thief (or the owner) replays it
    with pytest.raises(InvalidRefreshToken):
        tokens.rotate(second.refresh_token)  # the whole family is dead
    with pytest.raises(InvalidAccessToken):
        tokens.decode_access_token(second.access_token)
    # other sessions of the same user are untouched
    other = tokens.issue(7)
    assert tokens.rotate(other.refresh_token).user_id == 7


def test_logout_revokes_the_session(tokens):
    pair = tokens.issue(9)
    tokens.revoke(pair.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        tokens.rotate(pair.refresh_token)
    with pytest.raises(InvalidAccessToken):
        tokens.decode_access_token(pair.access_token)
    tokens.revoke("never-issued")  # unknown tokens are ignored


def test_revoke_user_ends_every_session(tokens):
    a, b = tokens.issue(5), tokens.issue(5)
    assert tokens.revoke_user(5) == 2
    assert not tokens.session_active(a.session_id) and not tokens.session_active(b.session_id)


def test_unknown_refresh_token_is_rejected(tokens):
    with pytest.raises(InvalidRefreshToken):
        tokens.rotate("nope")


# users and authentication

@pytest.fixture
def user(clean_db) -> int:
    with Session(clean_db) as session, session.begin():
        ensure_roles(session)
        return create_user(session, "Rep@Example.com", "Rita Rep", PASSWORD, "sales_rep",
                           security=FAST).id


def _login(engine, email, password, ip="198.51.100.7", ua="pytest", security=FAST):
    with Session(engine) as session, session.begin():
        return authenticate(session, email, password, ip, ua, security=security)


def _attempts(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select email::text, user_id, host(ip), user_agent, succeeded, reason "
            "from app.login_attempts order by id")).all()


def test_create_user_validates(clean_db, user):
    with Session(clean_db) as session:
        with pytest.raises(Conflict):
            create_user(session, "rep@example.com", "Again", PASSWORD, "sales_rep",
                        security=FAST)
        with pytest.raises(InvalidInput, match="valid email"):
            create_user(session, "not-an-email", "X", PASSWORD, "analyst", security=FAST)
        with pytest.raises(InvalidInput, match="role"):
            create_user(session, "x@example.com", "X", PASSWORD, "king", security=FAST)
        with pytest.raises(InvalidInput, match="at least"):
            create_user(session, "x@example.com", "X", "short", "analyst", security=FAST)
        principal = get_principal(session, user)
        assert (principal.email, principal.role) == ("Rep@Example.com", "sales_rep")


def test_login_succeeds_and_is_recorded(clean_db, user):
    principal = _login(clean_db, "rep@example.com", PASSWORD)  # email case does not matter
    assert principal.id == user and principal.role == "sales_rep"
    assert _attempts(clean_db) == [("rep@example.com", user, "198.51.100.7", "pytest", True,
                                    None)]
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select last_login_at from app.users")).scalar()


def test_unknown_user_and_wrong_password_fail_identically(clean_db, user):
    with pytest.raises(AuthenticationFailed) as wrong:
        _login(clean_db, "rep@example.com", "wrong password")
    with pytest.raises(AuthenticationFailed) as unknown:
        _login(clean_db, "nobody@example.com", PASSWORD)
    assert (type(wrong.value), wrong.value.code, str(wrong.value)) == \
        (type(unknown.value), unknown.value.code, str(unknown.value))
    # both recorded, although the callers' transactions rolled back
    assert [(a[0], a[1], a[4], a[5]) for a in _attempts(clean_db)] == [
        ("rep@example.com", user, False, "bad_password"),
        ("nobody@example.com", None, False, "unknown_user")]


def test_unknown_user_takes_as_long_as_a_wrong_password(clean_db):
    real = SecuritySettings(login_max_failures_per_user=100, login_max_failures_per_ip=100)
    with Session(clean_db) as session, session.begin():
        create_user(session, "timing@example.com", "T", PASSWORD, "analyst", security=real)

    def median(email):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            with pytest.raises(AuthenticationFailed):
                _login(clean_db, email, "wrong password", security=real)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    known, unknown = median("timing@example.com"), median("ghost@example.com")
    assert 0.5 < unknown / known < 2, (known, unknown)


def test_inactive_user_cannot_log_in(clean_db, user):
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.users set is_active = false"))
    with pytest.raises(AuthenticationFailed, match="Incorrect email or password"):
        _login(clean_db, "rep@example.com", PASSWORD)
    assert _attempts(clean_db)[-1][5] == "inactive"


def test_lockout_after_repeated_failures_even_with_the_right_password(clean_db, user):
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            _login(clean_db, "rep@example.com", "wrong password")
    with pytest.raises(RateLimited) as locked:
        _login(clean_db, "rep@example.com", PASSWORD)
    assert 1 <= locked.value.retry_after <= 10
    assert _attempts(clean_db)[-1][4:] == (False, "locked")
    # an unknown email is locked out the same way (no account enumeration)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            _login(clean_db, "ghost@example.com", "x", ip="198.51.100.99")
    with pytest.raises(RateLimited):
        _login(clean_db, "ghost@example.com", "x", ip="198.51.100.99")


def _backdate_failures(engine, n, seconds_ago, email="rep@example.com", ip="203.0.113.1"):
    with engine.begin() as conn:
        for _ in range(n):
            conn.execute(sa.text(
                "insert into app.login_attempts (email, ip, succeeded, reason, attempted_at) "
                "values (:e, cast(:ip as inet), false, 'bad_password', "
                "now() - make_interval(secs => :s))"), {"e": email, "ip": ip, "s": seconds_ago})


def test_the_delay_grows_with_every_failure(clean_db, user):
    assert [lockout_delay(n, 3, 10, 600) for n in (2, 3, 4, 5, 9, 20)] == \
        [0, 10, 20, 40, 600, 600]
    _backdate_failures(clean_db, 3, 15)  # threshold reached 15 s ago: 10 s delay is over
    with Session(clean_db) as session:
        assert lockout_remaining(session, "rep@example.com", None, FAST) == 0
    _backdate_failures(clean_db, 1, 15)  # one more: 20 s from the last failure
    with Session(clean_db) as session:
        assert 4 <= lockout_remaining(session, "rep@example.com", None, FAST) <= 6


def test_a_success_resets_the_count_for_the_email(clean_db, user):
    _backdate_failures(clean_db, 2, 5)
    _login(clean_db, "rep@example.com", PASSWORD)
    _backdate_failures(clean_db, 1, 0)
    with Session(clean_db) as session:
        assert lockout_remaining(session, "rep@example.com", None, FAST) == 0


def test_lockout_per_ip_across_emails(clean_db, user):
    for i in range(6):
        with pytest.raises(AuthenticationFailed):
            _login(clean_db, f"guess{i}@example.com", "x", ip="192.0.2.50")
    with pytest.raises(RateLimited):
        _login(clean_db, "rep@example.com", PASSWORD, ip="192.0.2.50")
    assert _login(clean_db, "rep@example.com", PASSWORD, ip="192.0.2.51").id == user
