"""Campaigns: plan a draft, ask for approval, approve (someone else), schedule, cancel.
Delivery runs in Dagster once the scheduled time has come."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.campaigns import (
    CampaignCreate,
    CampaignPublic,
    CampaignSchedule,
    CampaignUpdate,
)
from api.schemas.records import BIGINT_MAX, Page, Reason, VersionOnly
from salesops.domain import campaigns, records

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
CampaignId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(campaigns.CAMPAIGNS))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)
OptionalVersion = Annotated[VersionOnly | None, Body()]


def _out(session, actor, campaign_id: int, response: Response) -> dict:
    record = records.get(session, actor, campaigns.CAMPAIGNS, campaign_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[CampaignPublic], responses=ERRORS, summary="Campaigns")
def list_campaigns(session: SessionDep, actor: ActorDep, query: Listing):
    return records.list_records(session, actor, campaigns.CAMPAIGNS, **query.kwargs())


@router.post("", response_model=CampaignPublic, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Plan a campaign (a draft)")
def create_campaign(body: CampaignCreate, session: SessionDep, actor: ActorDep,
                    response: Response):
    """The audience is a saved segment (`segment_id`, copied in) or a segment definition
    (`audience`)."""
    made = campaigns.create_campaign(session, actor, body.model_dump(exclude_unset=True))
    return _out(session, actor, made.id, response)


@router.get("/{campaign_id}", response_model=CampaignPublic, responses=ERRORS,
            summary="One campaign")
def get_campaign(campaign_id: CampaignId, session: SessionDep, actor: ActorDep,
                 response: Response):
    return _out(session, actor, campaign_id, response)


@router.patch("/{campaign_id}", response_model=CampaignPublic, responses=ERRORS,
              summary="Change a draft")
def update_campaign(campaign_id: CampaignId, body: CampaignUpdate, session: SessionDep,
                    actor: ActorDep, if_match: VersionDep, response: Response):
    """Only drafts change (409 `campaign_not_draft`), and a change withdraws an approval
    given or asked for."""
    campaigns.update_campaign(session, actor, campaign_id, body.changes(),
                              pick_version(if_match, body.version))
    return _out(session, actor, campaign_id, response)


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a campaign to the trash")
def delete_campaign(campaign_id: CampaignId, session: SessionDep, actor: ActorDep,
                    if_match: VersionDep) -> None:
    records.soft_delete(session, actor, campaigns.CAMPAIGNS, campaign_id, if_match)


@router.post("/{campaign_id}/submit", response_model=CampaignPublic, responses=ERRORS,
             summary="Ask for approval")
def submit(campaign_id: CampaignId, session: SessionDep, actor: ActorDep,
           if_match: VersionDep, response: Response, body: OptionalVersion = None):
    """The template must render first."""
    campaigns.submit(session, actor, campaign_id,
                     pick_version(if_match, body.version if body else None))
    return _out(session, actor, campaign_id, response)


@router.post("/{campaign_id}/approve", response_model=CampaignPublic, responses=ERRORS,
             summary="Approve a campaign (not your own)")
def approve(campaign_id: CampaignId, session: SessionDep, actor: ActorDep,
            if_match: VersionDep, response: Response, body: OptionalVersion = None):
    campaigns.approve(session, actor, campaign_id,
                      pick_version(if_match, body.version if body else None))
    return _out(session, actor, campaign_id, response)


@router.post("/{campaign_id}/reject", response_model=CampaignPublic, responses=ERRORS,
             summary="Send a campaign back to its owner, with the reason")
def reject(campaign_id: CampaignId, body: Reason, session: SessionDep, actor: ActorDep,
           if_match: VersionDep, response: Response):
    campaigns.reject(session, actor, campaign_id, body.reason,
                     pick_version(if_match, body.version))
    return _out(session, actor, campaign_id, response)


@router.post("/{campaign_id}/schedule", response_model=CampaignPublic, responses=ERRORS,
             summary="Schedule an approved campaign")
def schedule(campaign_id: CampaignId, session: SessionDep, actor: ActorDep,
             if_match: VersionDep, response: Response,
             body: Annotated[CampaignSchedule | None, Body()] = None):
    """Sent at `scheduled_at` (now when not given) by the Dagster campaign job."""
    body = body or CampaignSchedule()
    campaigns.schedule(session, actor, campaign_id, body.scheduled_at,
                       pick_version(if_match, body.version))
    return _out(session, actor, campaign_id, response)


@router.post("/{campaign_id}/cancel", response_model=CampaignPublic, responses=ERRORS,
             summary="Cancel a campaign that has not finished")
def cancel(campaign_id: CampaignId, session: SessionDep, actor: ActorDep,
           if_match: VersionDep, response: Response, body: OptionalVersion = None):
    campaigns.cancel(session, actor, campaign_id,
                     pick_version(if_match, body.version if body else None))
    return _out(session, actor, campaign_id, response)
