"""The WebSocket feed against the real database and Redis: notifications reach their user
only, record changes reach who may read them (sensitive fields hidden), bad tokens are
refused, and a forced logout closes the feed at once."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from salesops.models import Notification

pytestmark = pytest.mark.timeout(90)

FEED = "/api/v1/ws"


def _token(personas, name: str) -> str:
    return personas[name]["headers"]["Authorization"].removeprefix("Bearer ")


def _notify(engine, user_id: int, title: str) -> None:
    with Session(engine) as s, s.begin():
        s.add(Notification(user_id=user_id, kind="reminder", title=title, body="b"))


def _next(ws, kind: str = "") -> dict:
    """The next message that is not a metrics update (or the next of `kind`); dashboard
    figures (tests/api/test_realtime_dashboard.py) are passed over."""
    while True:
        message = ws.receive_json()
        if message.get("scope") == "dashboard":
            continue
        if message["type"] == kind or (not kind and message["type"] != "metrics"):
            return message


def _connect(stack: ExitStack, client, personas, name: str):
    ws = stack.enter_context(client.websocket_connect(f"{FEED}?token={_token(personas, name)}"))
    assert ws.receive_json() == {"type": "ready", "user_id": personas[name]["id"]}
    assert ws.receive_json()["type"] == "metrics"
    return ws


def test_a_notification_reaches_its_user_and_no_one_else(client, personas, clean_db):
    with ExitStack() as stack:
        a, b = (_connect(stack, client, personas, n) for n in ("rep", "rep2"))
        _notify(clean_db, personas["rep"]["id"], "for rep")
        _notify(clean_db, personas["rep2"]["id"], "for rep2")
        got_a = _next(a)
        assert got_a["type"] == "notification"
        assert got_a["notification"]["title"] == "for rep"
        # rep2's first message is its own: rep's (committed before) never reached it
        assert _next(b)["notification"]["title"] == "for rep2"


def test_a_record_change_reaches_who_may_read_it(client, personas, clean_db):
    names = ("rep", "manager", "rep_west", "analyst")
    with ExitStack() as stack:
        feeds = {n: _connect(stack, client, personas, n) for n in names}
        made = client.post("/api/v1/contacts", headers=personas["rep"]["headers"], json={
            "first_name": "Ada", "last_name": "Live", "email": "ada@live.io",
            "phone": "+44 20 7946 0000"})
        assert made.status_code == 201
        contact_id = made.json()["id"]
        for n in names:  # a marker everyone gets, after the change
            _notify(clean_db, personas[n]["id"], "marker")
        for n in ("rep", "manager", "analyst"):
            msg = _next(feeds[n])
            assert msg["type"] == "record" and msg["topic"] == "contact.created", n
            assert msg["id"] == contact_id and msg["record"]["last_name"] == "Live"
            hidden = ["email", "phone"] if n == "analyst" else []
            assert msg["record"]["hidden_fields"] == hidden, n
            assert (msg["record"]["phone"] is None) == (n == "analyst"), n
            assert _next(feeds[n])["notification"]["title"] == "marker"
        # rep_west is outside the rep's team: nothing about the contact, only the marker
        assert _next(feeds["rep_west"])["notification"]["title"] == "marker"


def _refused(client, url: str, first: dict | None = None) -> tuple[int, str]:
    with client.websocket_connect(url) as ws:
        if first is not None:
            ws.send_json(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return closed.value.code, closed.value.reason


def test_bad_expired_and_revoked_tokens_are_refused(client, personas, app):
    code, _ = _refused(client, f"{FEED}?token=not-a-jwt")
    assert code == 4401
    assert _refused(client, FEED, {"type": "auth", "token": "forged.token.x"})[0] == 4401
    assert _refused(client, FEED, {"type": "hello"})[0] == 4401
    pair = app.state.tokens.issue(personas["rep"]["id"])
    app.state.tokens.revoke_session(pair.session_id, personas["rep"]["id"])
    code, reason = _refused(client, f"{FEED}?token={pair.access_token}")
    assert code == 4401 and "session" in reason
    from datetime import timedelta

    from salesops.security.tokens import TokenService
    expired = TokenService(app.state.redis, app.state.tokens._secret,
                           access_ttl=timedelta(seconds=-1), prefix=app.state.tokens.prefix)
    stale = expired.issue(personas["rep"]["id"]).access_token
    assert _refused(client, f"{FEED}?token={stale}")[0] == 4401
    # the first-message form works with a good token
    with client.websocket_connect(FEED) as ws:
        ws.send_json({"type": "auth", "token": _token(personas, "rep")})
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"type": "ping"})
        assert _next(ws) == {"type": "pong"}


def test_forced_logout_revokes_every_session_and_closes_the_feed(client, personas, app):
    rep = personas["rep"]["id"]
    pairs = [app.state.tokens.issue(rep) for _ in range(2)]
    with client.websocket_connect(f"{FEED}?token={pairs[0].access_token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        assert ws.receive_json()["type"] == "metrics"
        denied = client.post(f"/api/v1/users/{rep}/logout",
                             headers=personas["manager"]["headers"])
        assert denied.status_code == 403
        done = client.post(f"/api/v1/users/{rep}/logout", headers=personas["admin"]["headers"])
        assert done.status_code == 200 and done.json()["sessions_ended"] == 3
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
    for pair in pairs:
        gone = client.get("/api/v1/contacts",
                          headers={"Authorization": f"Bearer {pair.access_token}"})
        assert gone.status_code == 401
        assert client.post("/api/v1/auth/refresh", json={
            "refresh_token": pair.refresh_token}).status_code == 401
    entries = client.get(f"/api/v1/audit-logs?entity=users&entity_id={rep}",
                         headers=personas["admin"]["headers"]).json()["items"]
    assert [e["action"] for e in entries] == ["logout"]
    assert client.post("/api/v1/users/999999/logout",
                       headers=personas["admin"]["headers"]).status_code == 404


def test_metrics_are_pushed_when_the_tables_behind_them_change(client, personas, clean_db):
    with ExitStack() as stack:
        rep = _connect(stack, client, personas, "rep")
        analyst = _connect(stack, client, personas, "analyst")
        made = client.post("/api/v1/tasks", headers=personas["rep"]["headers"], json={
            "title": "Overdue call", "priority": "high", "due_at": "2020-01-01T09:00:00Z"})
        assert made.status_code == 201
        figures = _next(rep, "metrics")["metrics"]
        assert figures["open_tasks"] == 1 and figures["overdue_tasks"] == 1
        assert figures["open_pipeline_amount"] == 0
        seen = _next(analyst, "metrics")["metrics"]
        assert seen["open_tasks"] == 1 and seen["open_pipeline_amount"] is None
        _notify(clean_db, personas["rep"]["id"], "ping")
        assert _next(rep, "metrics")["metrics"]["unread_notifications"] == 1


def test_the_feed_over_a_real_uvicorn_server(app, personas, clean_db):
    """The same path through a real server and a real WebSocket client (close codes on the
    wire included)."""
    import socket
    import threading
    import time

    import uvicorn
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{port}{FEED}"
        with connect(f"{url}?token={_token(personas, 'rep')}", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"
            assert json.loads(ws.recv(timeout=10))["type"] == "metrics"
            _notify(clean_db, personas["rep"]["id"], "over the wire")
            got = [json.loads(ws.recv(timeout=10)) for _ in range(2)]
            assert {m["type"] for m in got} == {"notification", "metrics"}
            assert next(m for m in got if m["type"] == "notification")[
                "notification"]["title"] == "over the wire"
        with connect(f"{url}?token=forged", open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == 4401
    finally:
        server.should_exit = True
        thread.join(timeout=30)
