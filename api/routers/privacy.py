"""GDPR for a contact (admins): export everything held about the person, or erase it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from api.deps import ActorDep, SessionDep
from api.schemas import error_responses
from api.schemas.records import BIGINT_MAX
from salesops.domain import gdpr

router = APIRouter(prefix="/contacts", tags=["contacts"])
ERRORS = error_responses(401, 403, 404, 422, 429)
ContactId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


class ErasureRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=gdpr.MAX_REASON_LENGTH,
                        examples=["Data subject's erasure request of 2026-11-20 (ticket 4411)"])


class Erasure(BaseModel):
    contact_id: int
    erased: dict[str, int] = Field(description="Rows deleted or anonymised, per table.",
                                   examples=[{"contacts": 1, "notes": 2,
                                              "raw.hubspot__contacts": 1}])


@router.get("/{contact_id}/export", response_model=dict[str, Any], responses=ERRORS,
            summary="GDPR export: everything held about a contact (admins)")
def export(contact_id: ContactId, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The contact, the contacts merged into it, their consents, notes, attachments
    (metadata), leads, deals, tasks, interactions, campaign memberships and deliveries,
    merge lineage, and their rows in `ml` and `raw`. The export is audited."""
    return gdpr.export_contact(session, actor, contact_id)


@router.post("/{contact_id}/erase", response_model=Erasure, responses=ERRORS,
             summary="GDPR erase: anonymise a contact everywhere (admins)")
def erase(contact_id: ContactId, body: ErasureRequest, request: Request, session: SessionDep,
          actor: ActorDep) -> Erasure:
    """Personal fields are nulled (the name becomes "Erased") and the contact goes to the
    trash; notes, attachments (with their files) and the person's `ml` and `raw` rows
    are deleted; interaction texts and delivery addresses are nulled. Deals and leads
    stay, without the person. One audit entry records what was erased and why."""
    return Erasure(contact_id=contact_id,
                   erased=gdpr.erase_contact(session, actor, contact_id, body.reason,
                                             request.app.state.settings.attachments_path))
