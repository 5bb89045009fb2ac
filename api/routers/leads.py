"""Leads: the work queue (with the latest score), updates, qualification, disqualification
with a reason, conversion into a deal, soft delete and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.leads import LeadConvert, LeadConverted, LeadRecord, LeadUpdate
from api.schemas.records import BIGINT_MAX, Page, Reason, VersionOnly
from salesops.domain import leads, records

router = APIRouter(prefix="/leads", tags=["leads"])
LeadId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(leads.LEADS))]
OptionalVersion = Annotated[VersionOnly | None, Body()]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _out(session, actor, lead_id: int, response: Response) -> dict:
    record = records.get(session, actor, leads.LEADS, lead_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[LeadRecord], responses=ERRORS, summary="List leads")
def list_leads(session: SessionDep, actor: ActorDep, query: Listing):
    """The leads you may see, e.g. your open queue by score:
    `?owner_id=me&status=new,working&sort=-score`. Unscored leads come last."""
    return records.list_records(session, actor, leads.LEADS, **query.kwargs())


@router.get("/{lead_id}", response_model=LeadRecord, responses=ERRORS, summary="One lead")
def get_lead(lead_id: LeadId, session: SessionDep, actor: ActorDep, response: Response):
    return _out(session, actor, lead_id, response)


@router.patch("/{lead_id}", response_model=LeadRecord, responses=ERRORS,
              summary="Change a lead")
def update_lead(lead_id: LeadId, body: LeadUpdate, session: SessionDep, actor: ActorDep,
                if_match: VersionDep, response: Response):
    """Status may move between new, working and nurturing here; qualify, disqualify and
    convert have their own actions. A stale version is a 409."""
    leads.update_lead(session, actor, lead_id, body.changes(),
                      pick_version(if_match, body.version))
    return _out(session, actor, lead_id, response)


@router.post("/{lead_id}/qualify", response_model=LeadRecord, responses=ERRORS,
             summary="Qualify a lead")
def qualify(lead_id: LeadId, session: SessionDep, actor: ActorDep, if_match: VersionDep,
            response: Response, body: OptionalVersion = None):
    """Qualifying a qualified lead changes nothing; a converted or disqualified one is a 409."""
    leads.qualify(session, actor, lead_id, pick_version(if_match, body and body.version))
    return _out(session, actor, lead_id, response)


@router.post("/{lead_id}/disqualify", response_model=LeadRecord, responses=ERRORS,
             summary="Disqualify a lead, saying why")
def disqualify(lead_id: LeadId, body: Reason, session: SessionDep, actor: ActorDep,
               if_match: VersionDep, response: Response):
    leads.disqualify(session, actor, lead_id, body.reason,
                     pick_version(if_match, body.version))
    return _out(session, actor, lead_id, response)


@router.post("/{lead_id}/convert", response_model=LeadConverted, responses=ERRORS,
             summary="Convert a lead into a deal")
def convert(lead_id: LeadId, session: SessionDep, actor: ActorDep, if_match: VersionDep,
            response: Response, body: Annotated[LeadConvert | None, Body()] = None):
    """Opens a deal in the default pipeline for the lead's contact (and the account of its
    company, found by name or created); the contact becomes an opportunity."""
    body = body or LeadConvert()
    lead, deal = leads.convert(
        session, actor, lead_id, deal_name=body.deal_name, amount=body.amount,
        expected_close_date=body.expected_close_date,
        version=pick_version(if_match, body.version))
    return {"lead": _out(session, actor, lead_id, response), "deal_id": deal.id,
            "contact_id": deal.contact_id, "account_id": deal.account_id}


@router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a lead to the trash")
def delete_lead(lead_id: LeadId, session: SessionDep, actor: ActorDep,
                if_match: VersionDep) -> None:
    records.soft_delete(session, actor, leads.LEADS, lead_id, if_match)


@router.post("/{lead_id}/restore", response_model=LeadRecord, responses=ERRORS,
             summary="Bring a lead back from the trash")
def restore_lead(lead_id: LeadId, session: SessionDep, actor: ActorDep, response: Response):
    records.restore(session, actor, leads.LEADS, lead_id)
    return _out(session, actor, lead_id, response)
