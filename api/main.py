"""The FastAPI application: `uvicorn --factory api.main:create_app`.

Routes live under /api/v1 (one router per resource); the OpenAPI schema is at
/api/v1/openapi.json and the docs at /docs. Errors become RFC 7807 problem+json answers
in `api.problems` and nowhere else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

import redis
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.problems import REQUEST_ID_HEADER
from api.realtime import Hub
from api.routers import (
    accounts,
    admin,
    attachments,
    auth,
    campaigns,
    contacts,
    deals,
    forms,
    health,
    integrations,
    leads,
    notes,
    notifications,
    privacy,
    segments,
    targets,
    tasks,
    templates,
    tracking,
    users,
    webhooks,
    ws,
)
from salesops import __version__
from salesops.db import get_engine
from salesops.errors import ConfigError
from salesops.security import SecuritySettings, get_security_settings
from salesops.security.tokens import TokenService
from salesops.settings import Settings, get_settings

API_PREFIX = "/api/v1"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: The current request's id, for logs and audit entries written during the request.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

TAGS = [
    {"name": "auth", "description": "Log in, refresh tokens, log out, who am I."},
    {"name": "forms", "description": "Public web-form submissions: lead capture."},
    {"name": "health", "description": "Is the API ready: database and Redis status."},
    {"name": "contacts", "description": "People: search, duplicates, trash."},
    {"name": "accounts", "description": "Companies: search, duplicates, trash."},
    {"name": "leads", "description": "The work queue with scores; qualify, disqualify, "
                                     "convert."},
    {"name": "deals", "description": "Pipelines, stages and deals; won, lost, history."},
    {"name": "notes", "description": "Notes on contacts and accounts; private ones are "
                                     "for sales roles."},
    {"name": "attachments", "description": "Files on contacts and accounts: upload, "
                                           "download, remove."},
    {"name": "integrations", "description": "CRM, email and financial connections "
                                            "(secrets write-only) and their sync runs."},
    {"name": "campaigns", "description": "Campaigns with their templates and saved "
                                         "segments: approval and scheduling."},
    {"name": "tasks", "description": "Assignments with due dates and priorities."},
    {"name": "targets", "description": "Bookings targets per month or quarter, per rep, team "
                                       "or the company."},
    {"name": "admin", "description": "API keys for integrations; the audit log."},
    {"name": "notifications", "description": "My in-app notifications: reminders, escalations."},
    {"name": "tracking", "description": "Campaign email opens, clicks and unsubscribes."},
    {"name": "webhooks", "description": "Signed webhooks in: payment status from the "
                                        "financial system."},
]

DESCRIPTION = """\
The operational API of salesops: transactional writes for sales and marketing teams.

**Authentication**: `POST /api/v1/auth/login` with email and password returns an access
token (a JWT, minutes) and a refresh token (single use, rotated at every refresh). Send the
access token as `Authorization: Bearer <token>`.

Integration users send an API key as `X-API-Key` instead.

**Lists** return `{"items": [...], "next_cursor": ...}`: pass `next_cursor` back as
`cursor` for the next page. **Changes** need the version you read (If-Match header or a
`version` field): a stale one is a 409 and nothing is written. Fields your role may not
see are null and named in `hidden_fields`.

**Errors** are RFC 7807 problems (`application/problem+json`): `type`, `title`,
`status`, `detail`, `instance`, plus `code` (stable: switch on it), `request_id` and, for
invalid input, `errors` (one entry per field). Every response carries an `X-Request-ID`
header.
"""


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID if sane, else a new one),
    exposes it as `request.state.request_id` and `request_id_var`, and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) \
            else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def create_app(database_url: str | None = None, redis_url: str | None = None, *,
               settings: Settings | None = None,
               security: SecuritySettings | None = None) -> FastAPI:
    """The API over this database and Redis (default: DATABASE_URL and REDIS_URL).

    Nothing connects until the first request, so building the app is cheap.
    """
    settings = settings or get_settings()
    security = security or get_security_settings()
    database_url = database_url or settings.database_url
    redis_url = redis_url or settings.redis_url
    if not database_url or not redis_url:
        missing = " and ".join(n for n, v in (("DATABASE_URL", database_url),
                                                ("REDIS_URL", redis_url)) if not v)
        raise ConfigError(f"{missing} not set: `salesops up` starts the API with both, or set "
                          f"them to a PostgreSQL and a Redis server.")

    redis_client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2,
                                        health_check_interval=30)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.hub.stop()
        redis_client.close()

    app = FastAPI(title="salesops API", version=__version__, description=DESCRIPTION,
                  openapi_tags=TAGS, openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url="/docs", redoc_url="/redoc", lifespan=lifespan)
    app.state.engine = get_engine(database_url)
    app.state.redis = redis_client
    app.state.security = security
    app.state.settings = settings
    app.state.tokens = TokenService.from_settings(redis_client, settings, security)
    app.state.hub = Hub(app.state.engine)

    app.add_middleware(RequestIdMiddleware)
    problems.install(app)
    for router in (health.router, auth.router, forms.router, contacts.router, accounts.router,
                   leads.router, deals.router, tasks.router, notifications.router,
                   tracking.router, admin.router, users.router, ws.router,
                   privacy.router, notes.router, attachments.router,
                   integrations.router, campaigns.router, templates.router,
                   segments.router, webhooks.router, targets.router):
        app.include_router(router, prefix=API_PREFIX)
    return app
