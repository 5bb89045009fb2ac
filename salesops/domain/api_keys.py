"""API keys for the integration role: created and revoked by admins, stored as a hash.

A key reads `so_<prefix>_<secret>`. The prefix finds the row; the SHA-256 of the whole key
is compared in constant time (the secret has 256 random bits, so a fast hash is enough).
The key itself is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import audit
from salesops.domain.audit import Actor
from salesops.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from salesops.domain.users import Principal, get_principal
from salesops.models import ApiKey, Role, User
from salesops.security import permissions

KEY_ROLE = "integration"


class InvalidApiKey(AuthenticationFailed):
    code = "invalid_api_key"
    default_message = "The API key is invalid or revoked."


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _public(key: ApiKey) -> dict[str, Any]:
    return {k: getattr(key, k) for k in ("id", "user_id", "name", "prefix", "created_at",
                                         "last_used_at", "revoked_at")}


def create_key(session: Session, actor: Actor, user_id: int, name: str
               ) -> tuple[dict[str, Any], str]:
    """A new key for an integration user: its public record and the key (shown once)."""
    permissions.require(actor.principal, "api_keys", "create")
    name = " ".join((name or "").split())
    if not name or len(name) > 200 or "\x00" in name:
        raise InvalidInput("Name the key (1 to 200 characters).", field="name")
    role = session.scalar(sa.select(Role.name).join(User, User.role_id == Role.id).where(
        User.id == user_id, User.deleted_at.is_(None)))
    if role != KEY_ROLE:
        raise InvalidInput(f"API keys are for users of the {KEY_ROLE} role; user {user_id} "
                           "is not one.", field="user_id", code="not_an_integration_user")
    prefix = secrets.token_hex(6)
    key = f"so_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(user_id=user_id, name=name, prefix=prefix, key_hash=_digest(key))
    session.add(row)
    session.flush()
    audit.write(session, actor, "api_keys", row.id, "create", "api_key.created", None,
                {"user_id": user_id, "name": name, "prefix": prefix})
    return _public(row), key


def revoke_key(session: Session, actor: Actor, key_id: int) -> dict[str, Any]:
    permissions.require(actor.principal, "api_keys", "delete")
    row = session.get(ApiKey, key_id, with_for_update=True)
    if row is None:
        raise NotFound(f"No API key {key_id}.")
    if row.revoked_at is None:
        row.revoked_at = session.scalar(sa.select(sa.func.now()))
        audit.write(session, actor, "api_keys", row.id, "revoke", "api_key.revoked",
                    {"revoked_at": None}, {"revoked_at": row.revoked_at.isoformat()})
    return _public(row)


def list_keys(session: Session, actor: Actor) -> list[dict[str, Any]]:
    permissions.require(actor.principal, "api_keys", "read")
    return [_public(k) for k in session.scalars(sa.select(ApiKey).order_by(ApiKey.id))]


def authenticate(session: Session, key: str) -> Principal:
    """The integration user behind a live key; InvalidApiKey otherwise."""
    parts = key.split("_") if len(key) < 200 else []
    if len(parts) < 3 or parts[0] != "so":
        raise InvalidApiKey()
    row = session.scalar(sa.select(ApiKey).where(ApiKey.prefix == parts[1],
                                                 ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, _digest(key)):
        raise InvalidApiKey()
    principal = get_principal(session, row.user_id)
    if principal.role != KEY_ROLE:
        raise InvalidApiKey()
    session.execute(sa.update(ApiKey).where(ApiKey.id == row.id)
                    .values(last_used_at=sa.func.now()))
    return principal
