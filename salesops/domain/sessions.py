"""An admin's forced logout: every session of a user ends at once, audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesops.domain import audit
from salesops.domain.audit import Actor
from salesops.domain.errors import NotFound
from salesops.models import User
from salesops.security import permissions
from salesops.security.tokens import TokenService

LOGGED_OUT_TOPIC = "user.logged_out"


def force_logout(session: Session, actor: Actor, user_id: int, tokens: TokenService) -> int:
    """Revoke every session (refresh-token family) of the user; returns how many ended.

    Their access tokens stop working at the next request (each names its session), and the
    `user.logged_out` event this writes makes every API process close the user's WebSocket
    connections.
    """
    permissions.require(actor.principal, "users", "update")
    if session.get(User, user_id) is None:
        raise NotFound(f"No user {user_id}.")
    ended = tokens.revoke_user(user_id)
    audit.write(session, actor, "users", user_id, "logout", LOGGED_OUT_TOPIC, None,
                {"sessions_ended": ended})
    return ended
