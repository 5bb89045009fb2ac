"""/api/v1/auth: login, refresh rotation and replay, logout, /me."""

from __future__ import annotations

import sqlalchemy as sa

CLIENT_IP = "203.0.113.10"  # as the client fixture connects from


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_a_token_pair(login, rep):
    r = login()
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60


def test_me_needs_a_valid_token(client, login, rep):
    token = login().json()["access_token"]
    r = client.get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"id": rep["id"], "email": "rita@example.com", "full_name": "Rita Rep",
                        "role": "sales_rep", "team_id": None}
    missing = client.get("/api/v1/auth/me")
    assert missing.status_code == 401
    assert missing.json()["code"] == "not_authenticated"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    forged = client.get("/api/v1/auth/me", headers=bearer(token[:-3] + "abc"))
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"
    garbage = client.get("/api/v1/auth/me", headers=bearer("not.a.jwt"))
    assert garbage.status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(client, login, clean_db):
    wrong = login(password="wrong password")
    unknown = login(email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {**r.json(), "request_id": None}  # noqa: E731
    assert strip(wrong) == strip(unknown) == {
        "type": "urn:salesops:problem:authentication_failed", "title": "Unauthorized",
        "status": 401, "detail": "Incorrect email or password.",
        "instance": "/api/v1/auth/login", "code": "authentication_failed",
        "request_id": None}
    assert wrong.headers.get("WWW-Authenticate") == unknown.headers.get("WWW-Authenticate")


def test_every_attempt_is_recorded_with_ip_and_user_agent(login, clean_db, rep):
    login(password="wrong password")
    login()
    with clean_db.connect() as conn:
        rows = conn.execute(sa.text(
            "select email::text, user_id, host(ip), user_agent, succeeded, reason "
            "from app.login_attempts order by id")).all()
    assert rows == [
        ("rita@example.com", rep["id"], CLIENT_IP, "pytest-api/1.0", False, "bad_password"),
        ("rita@example.com", rep["id"], CLIENT_IP, "pytest-api/1.0", True, None)]


def test_lockout_after_repeated_failures(login):
    for _ in range(3):
        assert login(password="wrong password").status_code == 401
    locked = login()  # even the right password must wait
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
    assert 1 <= int(locked.headers["Retry-After"]) <= 30


def test_refresh_rotates_the_refresh_token(client, login):
    first = login().json()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=bearer(second["access_token"])).status_code \
        == 200
    third = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


def test_replaying_a_refresh_token_revokes_the_family(client, login):
    first = login().json()
    second = client.post("/api/v1/auth/refresh",
                         json={"refresh_token": first["refresh_token"]}).json()
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_refresh_token"
    # the legitimate newer tokens are dead too
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/auth/me",
                      headers=bearer(second["access_token"])).status_code == 401
    # another login is a new, unaffected session
    assert client.get("/api/v1/auth/me",
                      headers=bearer(login().json()["access_token"])).status_code == 200


def test_logout_revokes_the_session(client, login):
    tokens = login().json()
    other = login().json()
    r = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]},
                    headers=bearer(tokens["access_token"]))
    assert r.status_code == 204
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/auth/me",
                      headers=bearer(tokens["access_token"])).status_code == 401
    assert client.get("/api/v1/auth/me",
                      headers=bearer(other["access_token"])).status_code == 200
    again = client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 204  # idempotent


def test_a_deactivated_user_loses_access_at_once(client, login, clean_db):
    tokens = login().json()
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.users set is_active = false"))
    assert client.get("/api/v1/auth/me",
                      headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_login_body_is_validated(client):
    r = client.post("/api/v1/auth/login", json={"email": "x@example.com"})
    assert r.status_code == 422
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "validation_error" and "password" in problem["detail"]
    assert problem["errors"] == [{"field": "password", "message": "Field required",
                                  "type": "missing"}]
