"""Sales targets: read by sales and analysts, set by managers (for their teams and reps)
and admins."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ActorDep, SessionDep
from api.schemas import error_responses
from api.schemas.targets import TargetPublic, TargetSet
from salesops.domain import targets

router = APIRouter(prefix="/targets", tags=["targets"])
ERRORS = error_responses(401, 403, 404, 422, 429)


@router.get("", response_model=list[TargetPublic], responses=ERRORS, summary="Sales targets")
def list_targets(session: SessionDep, actor: ActorDep,
                 period_from: Annotated[date | None, Query(alias="from")] = None,
                 period_to: Annotated[date | None, Query(alias="to")] = None):
    """The targets of the periods starting between `from` and `to` (both optional)."""
    return targets.list_targets(session, actor, period_from=period_from,
                                period_to=period_to)


@router.put("", response_model=TargetPublic, responses=ERRORS,
            summary="Set the target of a period")
def set_target(body: TargetSet, session: SessionDep, actor: ActorDep):
    """Creates or replaces the target of this period and holder (a rep, a team, or neither:
    the company). Managers set them for the teams and reps they manage; admins for
    anyone."""
    return targets.set_target(session, actor, **body.model_dump())
