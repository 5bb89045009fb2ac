"""The real-time feed: `/api/v1/ws`, a WebSocket pushing the signed-in user's new
notifications and the record changes they may see.

Authenticate with the access token as the `token` query parameter, or as the first
message `{"type": "auth", "token": "..."}` within a few seconds (keeps it out of access
logs). A bad, expired or revoked token closes the socket with code 4401; so does the end of
the session (logout, an admin's forced logout) and the token's expiry: send a fresh token
as another `auth` message before it expires to stay connected.

Messages from the server, one JSON object each:
    {"type": "ready", "user_id": 7}
    {"type": "notification", "notification": {...as GET /notifications lists it}}
    {"type": "record", "topic": "contact.updated", "entity": "contact", "id": 12,
     "event_id": 345, "record": {...as GET /contacts/12 returns it for you}}
    {"type": "metrics", "metrics": {"unread_notifications": 2, "open_leads": 14,
     "open_tasks": 5, "overdue_tasks": 1, "open_deals": 9, "open_pipeline_amount": 1200.0}}
                                          (after ready, and again whenever a figure changes;
                                           null where the role may not see it)
    {"type": "metrics", "scope": "dashboard", "metrics": {"open_pipeline_amount": 5500.0,
     "weighted_pipeline_amount": 2550.0, "won_amount_90d": 5000.0, "won_deals_90d": 2,
     "win_rate_90d": 0.667, "new_leads_30d": 12, "lead_conversion_rate": 0.25}}
                                          (the dashboards' headline figures, after ready
                                           and whenever the marts are rebuilt and they
                                           changed; only to users who may read every deal)
    {"type": "pong"}                      (the answer to {"type": "ping"})
    {"type": "error", "message": "..."}   (a message the server did not understand)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session

from api.realtime import UNAUTHORIZED, Close, Connection, FeedUnavailable, Hub
from salesops.domain.errors import AuthenticationFailed
from salesops.domain.users import Principal, get_principal
from salesops.security.tokens import AccessClaims, TokenService

router = APIRouter(tags=["notifications"])

AUTH_TIMEOUT_SECONDS = 10
RECHECK_SECONDS = 15  # how often an idle connection checks its session is still live


def _authenticate(websocket: WebSocket, token: object) -> tuple[AccessClaims, Principal]:
    if not isinstance(token, str) or not token:
        raise AuthenticationFailed("Send the access token: ?token=... or a first message "
                                   '{"type": "auth", "token": "..."}.')
    tokens: TokenService = websocket.app.state.tokens
    claims = tokens.decode_access_token(token)
    with Session(websocket.app.state.engine) as session:
        return claims, get_principal(session, claims.user_id)


async def _first_token(websocket: WebSocket) -> object:
    try:
        with anyio.fail_after(AUTH_TIMEOUT_SECONDS):
            message = await websocket.receive_json()
    except (TimeoutError, ValueError):
        return None
    return message.get("token") if isinstance(message, dict) \
        and message.get("type") == "auth" else None


def _session_ended(websocket: WebSocket, conn: Connection) -> str | None:
    if conn.expires_at <= datetime.now(UTC):
        return "The access token expired; reconnect with a fresh one."
    if not websocket.app.state.tokens.session_active(conn.session_id):
        return "The session has ended; log in again."
    return None


@router.websocket("/ws", name="feed")
async def feed(websocket: WebSocket, token: str | None = Query(None)) -> None:
    await websocket.accept()
    try:
        if token is None:
            token = await _first_token(websocket)
        claims, principal = await asyncio.to_thread(_authenticate, websocket, token)
    except AuthenticationFailed as exc:
        await websocket.close(UNAUTHORIZED, exc.message[:120])
        return
    except WebSocketDisconnect:
        return
    hub: Hub = websocket.app.state.hub
    conn = Connection(principal, claims.session_id, claims.expires_at)
    try:
        await hub.join(conn)
    except FeedUnavailable:
        await websocket.close(1011, "The feed is unavailable; try again shortly.")
        return
    try:
        await websocket.send_json({"type": "ready", "user_id": principal.id})
        await hub.send_metrics(conn)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_receive, websocket, conn, tg.cancel_scope)
            tg.start_soon(_send, websocket, conn, tg.cancel_scope)
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(conn)


async def _receive(websocket: WebSocket, conn: Connection, scope: anyio.CancelScope) -> None:
    """Pings, and fresh tokens for the same user; a disconnect ends the connection."""
    while True:
        try:
            message = await websocket.receive_json()
        except WebSocketDisconnect:
            scope.cancel()
            return
        except ValueError:
            conn.push({"type": "error", "message": "Send JSON objects."})
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            conn.push({"type": "pong"})
        elif kind == "auth":
            try:
                claims, principal = await asyncio.to_thread(_authenticate, websocket,
                                                            message.get("token"))
                if principal.id != conn.principal.id:
                    raise AuthenticationFailed("The token is another user's.")
            except AuthenticationFailed as exc:
                conn.push(Close(UNAUTHORIZED, exc.message[:120]))
                continue
            conn.session_id, conn.expires_at = claims.session_id, claims.expires_at
        else:
            conn.push({"type": "error",
                       "message": 'Unknown message; send {"type": "ping"} or '
                                  '{"type": "auth", "token": "..."}.'})


async def _send(websocket: WebSocket, conn: Connection, scope: anyio.CancelScope) -> None:
    """Sends what is queued; every RECHECK_SECONDS checks the token and session still hold
    (a logout in another API process ends the connection here at the latest)."""
    loop = asyncio.get_running_loop()
    next_check = loop.time() + RECHECK_SECONDS
    while True:
        message: dict | Close | None
        try:
            message = await asyncio.wait_for(conn.queue.get(),
                                             max(0.0, next_check - loop.time()))
        except TimeoutError:
            message = None
        if loop.time() >= next_check:
            next_check = loop.time() + RECHECK_SECONDS
            if reason := await asyncio.to_thread(_session_ended, websocket, conn):
                message = Close(UNAUTHORIZED, reason)
        if isinstance(message, Close):
            await websocket.close(message.code, message.reason)
            scope.cancel()
            return
        if message is not None:
            await websocket.send_json(message)
