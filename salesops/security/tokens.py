"""Access and refresh tokens.

- Access tokens are short-lived JWTs (HS256, signed with the settings' secret key). They
  name the user (`sub`) and the session (`sid`), so a revoked session stops them at once.
- Refresh tokens are opaque random strings. Redis keeps only their SHA-256, with the user
  and the session ("family") they belong to. Every refresh spends the token and issues a
  new one in the same family; presenting a spent token again means it leaked, so the whole
  family is revoked. Logging out revokes the family too.

Redis keys (`<prefix>` from SecuritySettings.redis_prefix):
    <prefix>:rt:<sha256>     hash {user_id, family, used}   one refresh token
    <prefix>:rs:<family>     user id                        a live session
    <prefix>:us:<user_id>    set of families                a user's sessions
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import redis

from salesops.domain.errors import AuthenticationFailed
from salesops.security import SecuritySettings, get_security_settings
from salesops.settings import Settings, get_settings

ALGORITHM = "HS256"
ISSUER = "salesops"

# Spend a refresh token atomically: returns {status, family, user_id}.
# status: unknown (never issued or expired), replayed (already spent), revoked (session
# gone), ok.
_SPEND = """
local family = redis.call('HGET', KEYS[1], 'family')
if not family then return {'unknown', '', ''} end
local user = redis.call('HGET', KEYS[1], 'user_id')
if redis.call('HSETNX', KEYS[1], 'used', '1') == 0 then return {'replayed', family, user} end
if redis.call('EXISTS', ARGV[1] .. family) == 0 then return {'revoked', family, user} end
return {'ok', family, user}
"""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    user_id: int
    session_id: str
    token_type: str = "bearer"


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: str
    token_id: str
    expires_at: datetime


class InvalidRefreshToken(AuthenticationFailed):
    code = "invalid_refresh_token"
    default_message = "The refresh token is invalid, expired or revoked; log in again."


class InvalidAccessToken(AuthenticationFailed):
    code = "invalid_token"
    default_message = "The access token is invalid or expired."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    """Issues, rotates, checks and revokes tokens. One per process is enough."""

    def __init__(self, redis_client: redis.Redis, secret: str, *,
                 access_ttl: timedelta = timedelta(minutes=15),
                 refresh_ttl: timedelta = timedelta(days=30), prefix: str = "salesops") -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret must be at least 32 characters")
        self.redis = redis_client
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.prefix = prefix
        self._spend = redis_client.register_script(_SPEND)

    @classmethod
    def from_settings(cls, redis_client: redis.Redis, settings: Settings | None = None,
                      security: SecuritySettings | None = None) -> TokenService:
        settings = settings or get_settings()
        security = security or get_security_settings()
        return cls(redis_client, settings.secret_key(),
                   access_ttl=timedelta(minutes=settings.access_token_minutes),
                   refresh_ttl=timedelta(days=security.refresh_token_days),
                   prefix=security.redis_prefix)

    # keys
    def _token_key(self, token: str) -> str:
        return f"{self.prefix}:rt:{_digest(token)}"

    def _session_key(self, family: str = "") -> str:
        return f"{self.prefix}:rs:{family}"

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}:us:{user_id}"

    # access tokens
    def create_access_token(self, user_id: int, session_id: str) -> str:
        now = datetime.now(UTC)
        claims = {"iss": ISSUER, "sub": str(user_id), "sid": session_id, "typ": "access",
                  "jti": uuid.uuid4().hex, "iat": now, "exp": now + self.access_ttl}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode_access_token(self, token: str, *, check_session: bool = True) -> AccessClaims:
        """The claims of a valid access token whose session is still live."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "sid", "jti"]})
            if claims.get("typ") != "access":
                raise InvalidAccessToken()
            result = AccessClaims(user_id=int(claims["sub"]), session_id=str(claims["sid"]),
                                  token_id=str(claims["jti"]),
                                  expires_at=datetime.fromtimestamp(claims["exp"], UTC))
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidAccessToken() from None
        if check_session and not self.session_active(result.session_id):
            raise InvalidAccessToken("The session has ended; log in again.")
        return result

    # sessions and refresh tokens
    def issue(self, user_id: int) -> TokenPair:
        """A new session (family) with its first token pair: what a login returns."""
        family = uuid.uuid4().hex
        ttl = int(self.refresh_ttl.total_seconds())
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self._session_key(family), str(user_id), ex=ttl)
        pipe.sadd(self._user_key(user_id), family)
        pipe.expire(self._user_key(user_id), ttl)
        pipe.execute()
        return self._pair(user_id, family)

    def _pair(self, user_id: int, family: str) -> TokenPair:
        refresh = secrets.token_urlsafe(32)
        ttl = int(self.refresh_ttl.total_seconds())
        key = self._token_key(refresh)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"user_id": str(user_id), "family": family})
        pipe.expire(key, ttl)
        pipe.execute()
        return TokenPair(access_token=self.create_access_token(user_id, family),
                         refresh_token=refresh, user_id=user_id, session_id=family,
                         expires_in=int(self.access_ttl.total_seconds()))

    def rotate(self, refresh_token: str) -> TokenPair:
        """Spend a refresh token and return the next pair of its session.

        A token spent twice revokes its whole session: the thief and the owner both have to
        log in again, and only the owner can.
        """
        raw = self._spend(keys=[self._token_key(refresh_token)], args=[self._session_key()])
        status, family, user = (v.decode() if isinstance(v, bytes) else str(v) for v in raw)
        if status == "replayed":
            self.revoke_session(family, int(user))
            raise InvalidRefreshToken()
        if status != "ok":
            raise InvalidRefreshToken()
        user_id = int(user)
        ttl = int(self.refresh_ttl.total_seconds())
        pipe = self.redis.pipeline(transaction=True)
        pipe.expire(self._session_key(family), ttl)  # sliding session
        pipe.expire(self._user_key(user_id), ttl)
        pipe.execute()
        return self._pair(user_id, family)

    def revoke(self, refresh_token: str) -> None:
        """Log out: end the session the refresh token belongs to. Unknown tokens are ignored."""
        values = self.redis.hmget(self._token_key(refresh_token), ["family", "user_id"])
        family, user = (v.decode() if isinstance(v, bytes) else v for v in values)
        if family:
            self.revoke_session(family, int(user) if user else None)

    def revoke_session(self, session_id: str, user_id: int | None = None) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self._session_key(session_id))
        if user_id is not None:
            pipe.srem(self._user_key(user_id), session_id)
        pipe.execute()

    def revoke_user(self, user_id: int) -> int:
        """End every session of a user (password change, deactivation); returns how many."""
        families = [f.decode() if isinstance(f, bytes) else f
                    for f in self.redis.smembers(self._user_key(user_id))]
        pipe = self.redis.pipeline(transaction=True)
        for family in families:
            pipe.delete(self._session_key(family))
        pipe.delete(self._user_key(user_id))
        pipe.execute()
        return len(families)

    def session_active(self, session_id: str) -> bool:
        return bool(self.redis.exists(self._session_key(session_id)))
