"""Admins acting on users: forced logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from api.deps import ActorDep, SessionDep, TokensDep
from api.schemas import error_responses
from api.schemas.records import BIGINT_MAX
from salesops.domain import sessions

router = APIRouter(prefix="/users", tags=["admin"])


class LoggedOut(BaseModel):
    user_id: int
    sessions_ended: int


@router.post("/{user_id}/logout", response_model=LoggedOut,
             responses=error_responses(401, 403, 404, 429),
             summary="Log a user out everywhere, at once (admins)")
def force_logout(user_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)], session: SessionDep,
                 actor: ActorDep, tokens: TokensDep) -> LoggedOut:
    """Every session of the user ends: their refresh tokens stop working, their access
    tokens are refused at the next request, and their WebSocket feeds close (code 4401)."""
    ended = sessions.force_logout(session, actor, user_id, tokens)
    return LoggedOut(user_id=user_id, sessions_ended=ended)
