"""Contacts: CRUD, typo-tolerant search, duplicate warnings, soft delete and restore."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from api.deps import ActorDep, SessionDep, VersionDep, pick_version
from api.listing import ListQuery, list_query
from api.schemas import error_responses
from api.schemas.contacts import (
    ContactCreate,
    ContactCreated,
    ContactEnriched,
    ContactMerge,
    ContactMerged,
    ContactPublic,
    ContactUpdate,
)
from api.schemas.records import BIGINT_MAX, Page
from salesops.domain import contact_merge, contacts, enrichment, records

router = APIRouter(prefix="/contacts", tags=["contacts"])
ContactId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
Listing = Annotated[ListQuery, Depends(list_query(contacts.CONTACTS))]
ERRORS = error_responses(401, 403, 404, 409, 422, 429)


def _enricher(request: Request) -> enrichment.Enricher | None:
    """The configured enrichment service (settings `enrichment_url`), if any."""
    settings, security = request.app.state.settings, request.app.state.security
    if not settings.enrichment_url:
        return None
    return enrichment.Enricher(settings.enrichment_url, settings.enrichment_timeout_seconds,
                               security.ssrf_allow_private, tuple(security.ssrf_allowed_hosts))


def _out(session, actor, contact_id: int, response: Response) -> dict:
    record = records.get(session, actor, contacts.CONTACTS, contact_id)
    response.headers["ETag"] = f'"{record["version"]}"'
    return record


@router.get("", response_model=Page[ContactPublic], responses=ERRORS,
            summary="List or search contacts")
def list_contacts(session: SessionDep, actor: ActorDep, query: Listing):
    """The contacts you may see, a page at a time. `q` searches names (typo tolerant) and
    email prefixes, most relevant first."""
    return records.list_records(session, actor, contacts.CONTACTS, **query.kwargs())


@router.post("", response_model=ContactCreated, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Create a contact")
def create_contact(body: ContactCreate, session: SessionDep, actor: ActorDep,
                   request: Request, response: Response):
    """A contact owned by you unless `owner_id` says otherwise. An email that already
    belongs to a contact is a 409 (`duplicate_contact`); similar names come back as
    `duplicates`, a warning. With an enrichment service configured, it fills the blanks
    (`enrichment` says what; a failing service keeps the contact)."""
    contact, duplicates = contacts.create_contact(
        session, actor, body.model_dump(exclude_unset=True))
    enricher = _enricher(request)
    outcome = enricher and enrichment.enrich_quietly(session, actor, enricher, contact.id)
    return {**_out(session, actor, contact.id, response), "duplicates": duplicates,
            "enrichment": asdict(outcome) if outcome else None}


@router.get("/{contact_id}", response_model=ContactPublic, responses=ERRORS,
            summary="One contact")
def get_contact(contact_id: ContactId, session: SessionDep, actor: ActorDep,
                response: Response):
    return _out(session, actor, contact_id, response)


@router.patch("/{contact_id}", response_model=ContactPublic, responses=ERRORS,
              summary="Change a contact")
def update_contact(contact_id: ContactId, body: ContactUpdate, session: SessionDep,
                   actor: ActorDep, if_match: VersionDep, response: Response):
    """Send the version you read (If-Match or `version`): if someone changed the contact
    since, the answer is 409 `stale_version` and nothing is written."""
    contacts.update_contact(session, actor, contact_id, body.changes(),
                            pick_version(if_match, body.version))
    return _out(session, actor, contact_id, response)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS,
               summary="Move a contact to the trash")
def delete_contact(contact_id: ContactId, session: SessionDep, actor: ActorDep,
                   if_match: VersionDep) -> None:
    records.soft_delete(session, actor, contacts.CONTACTS, contact_id, if_match)


@router.post("/{contact_id}/restore", response_model=ContactPublic, responses=ERRORS,
             summary="Bring a contact back from the trash (not a merged duplicate)")
def restore_contact(contact_id: ContactId, session: SessionDep, actor: ActorDep,
                    response: Response):
    contact_merge.restore_contact(session, actor, contact_id)
    return _out(session, actor, contact_id, response)


@router.post("/{contact_id}/merge", response_model=ContactMerged, responses=ERRORS,
             summary="Merge duplicates into this contact")
def merge_contacts(contact_id: ContactId, body: ContactMerge, session: SessionDep,
                   actor: ActorDep, if_match: VersionDep, response: Response):
    """Every note, attachment, lead, task, deal and interaction of the duplicates moves
    here, with their source lineage; blank fields are filled from them; the duplicates go
    to the trash pointing at this contact. One transaction: all of it or nothing. You
    must be allowed to change this contact and to delete the duplicates."""
    merged = contact_merge.merge_contacts(session, actor, contact_id, body.duplicate_ids,
                                          pick_version(if_match, body.version))
    return {**_out(session, actor, contact_id, response), **merged}


@router.post("/{contact_id}/enrich", response_model=ContactEnriched,
             responses={**ERRORS, **error_responses(502)},
             summary="Fill a contact's blanks from the enrichment service")
def enrich_contact(contact_id: ContactId, session: SessionDep, actor: ActorDep,
                   request: Request, response: Response):
    """Calls the configured enrichment URL (through the SSRF guard) and fills only the
    fields that are blank. 409 `enrichment_not_configured` without one; 502 when the
    service fails; 422 `unsafe_url` when its address is not allowed."""
    outcome = enrichment.enrich(session, actor, _enricher(request), contact_id)
    return {**_out(session, actor, contact_id, response), "enrichment": asdict(outcome)}
