"""The WebSocket feed's plumbing: one PostgreSQL listener per API process, fanned out to the
process's open connections.

The listener is a psycopg 3 async connection doing `LISTEN` on the channels of
`salesops.domain.feed`, and on the marts' channel (`salesops.automation.dashboard_feed`);
it starts with the first WebSocket connection (an API that never
serves one never opens it) and reconnects after a lost connection. Each notification is
turned into messages in a worker thread (the domain services are synchronous) and queued
on the connections it concerns; what a user may see is decided by `salesops.domain.feed`.
Notifications are handled one at a time, in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from api.schemas.notifications import NotificationPublic
from salesops.automation import dashboard_feed
from salesops.domain import feed
from salesops.domain.users import Principal

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0
LISTEN_TIMEOUT_SECONDS = 10.0  # how long a new connection waits for the listener


class FeedUnavailable(Exception):
    """The listener could not reach the database: the connection is closed with 1011."""
QUEUE_SIZE = 1000  # messages a connection may fall behind before it is closed


@dataclass(frozen=True)
class Close:
    """Tells a connection's sender to close with this WebSocket close code."""

    code: int
    reason: str


# close codes (4000-4999 are the application's)
UNAUTHORIZED = 4401  # no, a bad, expired or revoked token; or the user was logged out
TOO_SLOW = 1013  # the client does not read fast enough ("try again later")


@dataclass(eq=False)
class Connection:
    """One open WebSocket: who it is for, until when its token holds, what waits to go."""

    principal: Principal
    session_id: str
    expires_at: datetime
    queue: asyncio.Queue[dict[str, Any] | Close] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    metrics: dict[str, Any] | None = None  # the figures last pushed
    dashboard: dict[str, Any] | None = None  # the dashboard figures last pushed

    def push_metrics(self, figures: dict[str, Any]) -> None:
        """Push the figures if they differ from the last ones pushed."""
        if figures != self.metrics:
            self.metrics = figures
            self.push({"type": "metrics", "metrics": figures})

    def push_dashboard(self, figures: dict[str, Any]) -> None:
        """Push the marts' figures (`salesops.automation.dashboard_feed`) if they changed."""
        if figures != self.dashboard:
            self.dashboard = figures
            self.push({"type": "metrics", "scope": "dashboard", "metrics": figures})

    def push(self, message: dict[str, Any] | Close) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # drop what waits: the close must get through
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(Close(TOO_SLOW, "Too many unread messages; reconnect."))


def _connect_kwargs(url: sa.URL) -> dict[str, Any]:
    """psycopg's connection arguments for a SQLAlchemy URL (host may be a socket folder)."""
    kwargs: dict[str, Any] = {k: v if isinstance(v, str) else v[-1]
                              for k, v in url.query.items()}
    kwargs.update({k: v for k, v in (("host", url.host), ("port", url.port),
                                     ("user", url.username), ("password", url.password),
                                     ("dbname", url.database)) if v is not None})
    return kwargs


class Hub:
    """The open connections of this process, by user, and the listener feeding them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._connections: dict[int, set[Connection]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self._listening: asyncio.Event | None = None

    async def join(self, conn: Connection) -> None:
        """Add a connection once the listener hears (so nothing committed after is missed);
        FeedUnavailable if it cannot within LISTEN_TIMEOUT_SECONDS."""
        if self._task is None or self._task.done():
            self._listening = asyncio.Event()
            self._task = asyncio.create_task(self._listen(), name="salesops-ws-listener")
        self._connections[conn.principal.id].add(conn)
        try:
            await asyncio.wait_for(self._listening.wait(), LISTEN_TIMEOUT_SECONDS)
        except TimeoutError:
            self.leave(conn)
            raise FeedUnavailable from None

    async def send_metrics(self, conn: Connection) -> None:
        """The figures a new connection starts with: its user's work-queue figures, and the
        dashboard's if the user may see them (the rule of `dashboard_feed.figures`)."""
        metrics, dashboard = await asyncio.to_thread(self._first_figures, conn.principal)
        conn.push_metrics(metrics)
        if dashboard is not None:
            conn.push_dashboard(dashboard)

    def leave(self, conn: Connection) -> None:
        conns = self._connections.get(conn.principal.id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._connections[conn.principal.id]

    def close_user(self, user_id: int, reason: str) -> int:
        """Close every connection of the user in this process; returns how many."""
        conns = list(self._connections.get(user_id, ()))
        for conn in conns:
            conn.push(Close(UNAUTHORIZED, reason))
        return len(conns)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        kwargs = _connect_kwargs(self.engine.url)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(autocommit=True,
                                                                 **kwargs) as pg:
                    for channel in (*feed.CHANNELS, dashboard_feed.CHANNEL):
                        await pg.execute(f"LISTEN {channel}")
                    assert self._listening is not None
                    self._listening.set()
                    async for note in pg.notifies():
                        try:
                            await self._dispatch(note.channel, note.payload)
                        except Exception:  # one bad message must not stop the feed
                            log.exception("WebSocket feed: could not dispatch %s %s",
                                          note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("WebSocket feed: listener lost (%s); reconnecting in %.0f s; "
                            "changes in between are not pushed", exc, RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _dispatch(self, channel: str, payload: str) -> None:
        if not self._connections:
            return
        data = json.loads(payload)
        if channel == feed.NOTIFICATIONS_CHANNEL:
            conns = list(self._connections.get(int(data["user_id"]), ()))
            if conns:
                message, figures = await asyncio.to_thread(
                    self._notification, int(data["id"]), conns[0].principal)
                for conn in conns:
                    if message is not None:
                        conn.push(message)
                    conn.push_metrics(figures)
        elif channel == dashboard_feed.CHANNEL:
            by_user = {uid: list(conns) for uid, conns in self._connections.items() if conns}
            figures = await asyncio.to_thread(self._dashboard, {
                uid: conns[0].principal for uid, conns in by_user.items()})
            for uid, conns in by_user.items():
                if figures.get(uid) is not None:
                    for conn in conns:
                        conn.push_dashboard(figures[uid])
        elif channel == feed.EVENTS_CHANNEL:
            by_user = {uid: list(conns) for uid, conns in self._connections.items()}
            logged_out, messages, figures = await asyncio.to_thread(
                self._event, int(data["id"]), {uid: next(iter(c)).principal
                                               for uid, c in by_user.items() if c})
            if logged_out is not None:
                self.close_user(logged_out, "You were logged out by an administrator.")
            for uid, conns in by_user.items():
                for conn in conns:
                    if uid in messages:
                        conn.push(messages[uid])
                    if uid in figures:
                        conn.push_metrics(figures[uid])

    def _first_figures(self, principal: Principal
                       ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        with Session(self.engine) as session:
            return (jsonable_encoder(feed.metrics(session, principal)),
                    dashboard_feed.figures(session, principal))

    def _dashboard(self, principals: dict[int, Principal]) -> dict[int, dict[str, Any] | None]:
        with Session(self.engine) as session:
            return {uid: dashboard_feed.figures(session, p) for uid, p in principals.items()}

    def _notification(self, notification_id: int, principal: Principal
                      ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the notification's message, or None if it is gone; the user's new figures)."""
        with Session(self.engine) as session:
            row = feed.notification(session, notification_id)
            message = None if row is None else {
                "type": "notification",
                "notification": NotificationPublic.model_validate(row).model_dump(mode="json")}
            return message, jsonable_encoder(feed.metrics(session, principal))

    def _event(self, event_id: int, principals: dict[int, Principal]
               ) -> tuple[int | None, dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
        """(the user this event logged out, or None; each user's message about it; each
        user's figures, if the event may change them)."""
        with Session(self.engine) as session:
            event = feed.event(session, event_id)
            if event is None:
                return None, {}, {}
            if (user_id := feed.logged_out_user(event)) is not None:
                return user_id, {}, {}
            messages, figures = {}, {}
            for uid, principal in principals.items():
                message = feed.visible_change(session, principal, event)
                if message is not None:
                    messages[uid] = jsonable_encoder(message)
                if feed.affects_metrics(event):
                    figures[uid] = jsonable_encoder(feed.metrics(session, principal))
            return None, messages, figures
