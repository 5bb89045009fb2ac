"""Dependencies the routers share, as `Annotated` aliases.

    def route(session: SessionDep, user: CurrentUser): ...

- `SessionDep`: one database transaction per request, committed when the route returns
  (before the response is sent, so a failed commit is an error response, never a lie) and
  rolled back when it raises.
- `CurrentUser`: the `Principal` behind the bearer access token; its session must still be
  live (logout and refresh-token reuse end it at once) and the user still active.
- `RedisDep`, `TokensDep`, `SecurityDep`, `ClientDep`: the app's Redis client, token
  service, security settings and the caller's IP and user agent.
- `ActorDep`: the current user with the request id and IP every audited write needs.
- `VersionDep`: the version named by an If-Match header, for optimistic locking.
- `RateLimit(...)`: a fixed-window limit per client IP, as a route dependency; record
  routes are limited per user and per API key (`ActorDep`).

Integration users authenticate with an `X-API-Key` header instead of a bearer token.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

import redis
from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from redis.commands.core import Script
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from salesops.domain import api_keys
from salesops.domain.audit import Actor
from salesops.domain.errors import AuthenticationFailed, InvalidInput, RateLimited
from salesops.domain.users import Principal, get_principal
from salesops.security import SecuritySettings
from salesops.security.tokens import TokenService

log = logging.getLogger(__name__)


def _end(session: Session, commit: bool) -> None:
    with session:  # closed, its connection back in the pool
        if commit:
            session.commit()
        else:
            session.rollback()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Made on the event loop (a Session connects at its first statement, in the route's
    thread) and ended in one worker-thread hop: a sync generator would cost two."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, False)
        raise
    await run_in_threadpool(_end, session, True)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_redis(request: Request) -> redis.Redis:
    return request.app.state.redis


RedisDep = Annotated[redis.Redis, Depends(get_redis)]


async def get_tokens(request: Request) -> TokenService:
    return request.app.state.tokens


TokensDep = Annotated[TokenService, Depends(get_tokens)]


async def get_security(request: Request) -> SecuritySettings:
    return request.app.state.security


SecurityDep = Annotated[SecuritySettings, Depends(get_security)]


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


def client_ip(request: Request) -> str | None:
    """The caller's address as the server saw it. Behind a proxy, run uvicorn with
    `--proxy-headers --forwarded-allow-ips=<proxy>` so this is the real client."""
    host = request.client.host if request.client else None
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


async def client_info(request: Request) -> ClientInfo:
    return ClientInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))


ClientDep = Annotated[ClientInfo, Depends(client_info)]

bearer = HTTPBearer(auto_error=False, scheme_name="AccessToken",
                    description="The `access_token` from POST /api/v1/auth/login.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey",
                              description="A key of an integration user (POST /api/v1/api-keys).")
ApiKeyDep = Annotated[str | None, Depends(api_key_header)]


def current_user(session: SessionDep, tokens: TokensDep, credentials: BearerDep) -> Principal:
    if credentials is None:
        raise AuthenticationFailed("Not authenticated: send `Authorization: Bearer <token>`.",
                                   code="not_authenticated")
    claims = tokens.decode_access_token(credentials.credentials)
    return get_principal(session, claims.user_id)


CurrentUser = Annotated[Principal, Depends(current_user)]


def current_actor(request: Request, session: SessionDep, tokens: TokensDep,
                  credentials: BearerDep, api_key: ApiKeyDep, client: ClientDep,
                  redis_client: RedisDep, security: SecurityDep) -> Actor:
    """The caller of a record route: a user's bearer token or an integration's API key,
    each within its own rate limit (per user; per key)."""
    if credentials is not None:
        principal = current_user(session, tokens, credentials)
        bucket, limit = f"user:{principal.id}", security.user_rate_limit
    elif api_key is not None:
        principal = api_keys.authenticate(session, api_key)
        bucket, limit = f"key:{api_key.split('_')[1]}", security.api_key_rate_limit
    else:
        raise AuthenticationFailed("Not authenticated: send `Authorization: Bearer <token>` "
                                   "(or an integration's `X-API-Key`).",
                                   code="not_authenticated")
    if retry_after := _over_limit(redis_client, f"{security.redis_prefix}:rl:{bucket}", limit,
                                  security.api_rate_window_seconds):
        raise RateLimited(f"Too many requests; try again in {retry_after} seconds.",
                          retry_after=retry_after)
    return Actor(principal, getattr(request.state, "request_id", None), client.ip)


ActorDep = Annotated[Actor, Depends(current_actor)]


async def if_match_version(if_match: Annotated[str | None, Header(
        description='The version you read, e.g. `"3"` (the ETag of the GET).')] = None
        ) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or not 1 <= int(value) < 2**31:
        raise InvalidInput('If-Match must be a record version, e.g. "3".', field="If-Match")
    return int(value)


VersionDep = Annotated[int | None, Depends(if_match_version)]


def pick_version(header: int | None, body: int | None) -> int | None:
    """The version a write is based on, from If-Match or the body (they must agree)."""
    if header is not None and body is not None and header != body:
        raise InvalidInput("If-Match and version disagree; send one.", field="version")
    return header if header is not None else body


#: One fixed-window hit: count it, start the window's expiry on its first hit.
_HIT = Script(None, b"local n = redis.call('INCR', KEYS[1]) "
                    b"if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n")


def _over_limit(redis_client: redis.Redis, key: str, limit: int, window: int) -> int | None:
    """Count a hit in a fixed window (one Redis call: a Lua script); the seconds to wait
    when over the limit, else None.

    If Redis is down the request is let through and a warning logged: losing a lead is
    worse than letting a burst in."""
    now = time.time()
    slot = int(now // window)
    try:
        count = _HIT(keys=[f"{key}:{slot}"], args=[window + 1], client=redis_client)
    except redis.RedisError as exc:
        log.warning("rate limit %s not enforced: Redis unavailable (%s)", key, exc)
        return None
    if count <= limit:
        return None
    return max(1, math.ceil((slot + 1) * window - now))


class RateLimit:
    """At most `limit(settings)` requests per `window(settings)` seconds per client IP,
    in fixed windows in Redis (INCR + EXPIRE)."""

    def __init__(self, bucket: str, limit: Callable[[SecuritySettings], int],
                 window: Callable[[SecuritySettings], int]) -> None:
        self.bucket, self.limit, self.window = bucket, limit, window

    def __call__(self, redis_client: RedisDep, security: SecurityDep,
                 client: ClientDep) -> None:
        self.check(redis_client, security, client.ip)

    def check(self, redis_client: redis.Redis, security: SecuritySettings,
              ip: str | None) -> None:
        """RateLimited when `ip` is over the limit (for a route that checks in its own
        worker thread instead of as a dependency)."""
        key = f"{security.redis_prefix}:rl:{self.bucket}:{ip or 'unknown'}"
        if retry_after := _over_limit(redis_client, key, self.limit(security),
                                      self.window(security)):
            raise RateLimited(f"Too many requests; try again in {retry_after} seconds.",
                              retry_after=retry_after)
