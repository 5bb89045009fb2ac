"""Pipelines and deals: CRUD, stage moves by the transition rules, won and lost, stage
history, soft delete and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.deals import (
    DealCreate,
    DealMove,
    DealPublic,
    DealUpdate,
    PipelinePublic,
    StageVisit,
)
from api.schemas.records import BIGINT_MAX, Page, Reason, VersionOnly
from salesops.domain import deals, records

router = APIRouter(tags=["deals"])
DealId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(deals.DEALS))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _out(session, actor, deal_id: int, response: Response) -> dict:
    record = records.get(session, actor, deals.DEALS, deal_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("/pipelines", response_model=list[PipelinePublic], responses=ERRORS,
            summary="Pipelines and their stages")
def list_pipelines(session: SessionDep, actor: ActorDep):
    """Each stage with the probability and forecast category deals take on entering it."""
    return deals.list_pipelines(session, actor)


@router.get("/deals", response_model=Page[DealPublic], responses=ERRORS, summary="List deals")
def list_deals(session: SessionDep, actor: ActorDep, query: Listing):
    return records.list_records(session, actor, deals.DEALS, **query.kwargs())


@router.post("/deals", response_model=DealPublic, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Open a deal")
def create_deal(body: DealCreate, session: SessionDep, actor: ActorDep, response: Response):
    """In the default pipeline's first stage unless `pipeline_id` / `stage_id` say
    otherwise (an open stage: win or lose a deal with its actions)."""
    values = body.model_dump(exclude_unset=True, exclude={"pipeline_id", "stage_id"})
    deal = deals.create_deal(session, actor, values, pipeline_id=body.pipeline_id,
                             stage_id=body.stage_id)
    return _out(session, actor, deal.id, response)


@router.get("/deals/{deal_id}", response_model=DealPublic, responses=ERRORS,
            summary="One deal")
def get_deal(deal_id: DealId, session: SessionDep, actor: ActorDep, response: Response):
    return _out(session, actor, deal_id, response)


@router.patch("/deals/{deal_id}", response_model=DealPublic, responses=ERRORS,
              summary="Change a deal")
def update_deal(deal_id: DealId, body: DealUpdate, session: SessionDep, actor: ActorDep,
                if_match: VersionDep, response: Response):
    """Fields only; the stage moves with /move, /won and /lost. A stale version is a 409."""
    records.update(session, actor, deals.DEALS, deal_id, body.changes(),
                   pick_version(if_match, body.version))
    return _out(session, actor, deal_id, response)


@router.post("/deals/{deal_id}/move", response_model=DealPublic, responses=ERRORS,
             summary="Move a deal to another stage")
def move_deal(deal_id: DealId, body: DealMove, session: SessionDep, actor: ActorDep,
              if_match: VersionDep, response: Response):
    """To a stage of the deal's pipeline. Closed Won needs an amount and an expected close
    date (422 `won_needs_amount_and_close_date`) and creates the contract; a lost stage
    needs a reason; a closed deal does not move (409 `deal_closed`)."""
    deals.move(session, actor, deal_id, body.stage_id,
               version=pick_version(if_match, body.version), reason=body.reason)
    return _out(session, actor, deal_id, response)


@router.post("/deals/{deal_id}/won", response_model=DealPublic, responses=ERRORS,
             summary="Win a deal")
def win_deal(deal_id: DealId, session: SessionDep, actor: ActorDep, if_match: VersionDep,
             response: Response, body: Annotated[VersionOnly | None, Body()] = None):
    deals.close(session, actor, deal_id, won=True,
                version=pick_version(if_match, body and body.version))
    return _out(session, actor, deal_id, response)


@router.post("/deals/{deal_id}/lost", response_model=DealPublic, responses=ERRORS,
             summary="Lose a deal, saying why")
def lose_deal(deal_id: DealId, body: Reason, session: SessionDep, actor: ActorDep,
              if_match: VersionDep, response: Response):
    deals.close(session, actor, deal_id, won=False,
                version=pick_version(if_match, body.version), reason=body.reason)
    return _out(session, actor, deal_id, response)


@router.get("/deals/{deal_id}/history", response_model=list[StageVisit], responses=ERRORS,
            summary="The stages a deal went through")
def deal_history(deal_id: DealId, session: SessionDep, actor: ActorDep):
    return deals.stage_history(session, actor, deal_id)


@router.delete("/deals/{deal_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a deal to the trash")
def delete_deal(deal_id: DealId, session: SessionDep, actor: ActorDep,
                if_match: VersionDep) -> None:
    records.soft_delete(session, actor, deals.DEALS, deal_id, if_match)


@router.post("/deals/{deal_id}/restore", response_model=DealPublic, responses=ERRORS,
             summary="Bring a deal back from the trash")
def restore_deal(deal_id: DealId, session: SessionDep, actor: ActorDep, response: Response):
    records.restore(session, actor, deals.DEALS, deal_id)
    return _out(session, actor, deal_id, response)
