"""The FastAPI application: `uvicorn --factory api.main:create_app`.

Routes live under /api/v1 (one router per resource); the OpenAPI schema is at
/api/v1/openapi.json and the docs at /docs. Domain exceptions become HTTP errors here and
nowhere else, always as `{"error": {"code", "message", "request_id", "details"}}`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

import redis
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.realtime import Hub
from api.routers import (
    accounts,
    admin,
    auth,
    contacts,
    deals,
    forms,
    health,
    leads,
    notifications,
    privacy,
    targets,
    tasks,
    tracking,
    users,
    ws,
)
from salesops import __version__
from salesops.db import get_engine
from salesops.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from salesops.errors import ConfigError
from salesops.security import SecuritySettings, get_security_settings
from salesops.security.tokens import TokenService
from salesops.settings import Settings, get_settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: The current request's id, for logs and audit entries written during the request.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

#: Domain exception -> HTTP status; the most specific class in the MRO wins.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 422,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}

TAGS = [
    {"name": "auth", "description": "Log in, refresh tokens, log out, who am I."},
    {"name": "forms", "description": "Public web-form submissions: lead capture."},
    {"name": "health", "description": "Is the API ready: database and Redis status."},
    {"name": "contacts", "description": "People: search, duplicates, trash."},
    {"name": "accounts", "description": "Companies: search, duplicates, trash."},
    {"name": "leads", "description": "The work queue with scores; qualify, disqualify, "
                                     "convert."},
    {"name": "deals", "description": "Pipelines, stages and deals; won, lost, history."},
    {"name": "tasks", "description": "Assignments with due dates and priorities."},
    {"name": "targets", "description": "Bookings targets per month or quarter, per rep, team "
                                       "or the company."},
    {"name": "admin", "description": "API keys for integrations; the audit log."},
    {"name": "notifications", "description": "My in-app notifications: reminders, escalations."},
    {"name": "tracking", "description": "Campaign email opens, clicks and unsubscribes."},
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

**Errors** always look like `{"error": {"code": "...", "message": "...", "request_id":
"..."}}`; switch on `code`. Every response carries an `X-Request-ID` header.
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


def _error(request: Request, status: int, code: str, message: str, details=None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    body = {"code": code, "message": message, "request_id": request_id}
    if details:
        body["details"] = details
    headers = dict(headers or {})
    if request_id:  # also for the 500s answered outside the request-id middleware
        headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse({"error": jsonable_encoder(body)}, status_code=status, headers=headers)


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        status = status_for(exc)
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, AuthenticationFailed):
            headers["WWW-Authenticate"] = "Bearer"
        return _error(request, status, exc.code, exc.message, exc.details or None, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                     "message": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems[:5])
        return _error(request, 422, "validation_error", f"Invalid request: {summary}",
                      problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(request, exc.status_code, code, str(exc.detail),
                      headers=getattr(exc, "headers", None))

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return _error(request, 409, "stale_version",
                      "The record was changed by someone else; reload it and try again.")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # Starlette still re-raises it afterwards, so the server logs the traceback
        return _error(request, 500, "internal_error",
                      "Something went wrong on our side; quote the request id if you report "
                      "it.")

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(redis.ConnectionError)
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("backing service unavailable (request %s): %s",
                  getattr(request.state, "request_id", None), exc)
        return _error(request, 503, "service_unavailable",
                      "A backing service is unavailable; try again shortly.",
                      headers={"Retry-After": "5"})


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
    app.state.tokens = TokenService.from_settings(redis_client, settings, security)
    app.state.hub = Hub(app.state.engine)

    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    for router in (health.router, auth.router, forms.router, contacts.router, accounts.router,
                   leads.router, deals.router, tasks.router, notifications.router,
                   tracking.router, admin.router, users.router, ws.router,
                   privacy.router, targets.router):
        app.include_router(router, prefix=API_PREFIX)
    return app
