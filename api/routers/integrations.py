"""Settings of the CRM, email and financial integrations (admins), and their sync runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from api.deps import ActorDep, SecurityDep, SessionDep
from api.schemas import error_responses
from api.schemas.integrations import (
    IntegrationCreate,
    IntegrationPublic,
    IntegrationUpdate,
    Kind,
    SyncRunsPage,
)
from api.schemas.records import BIGINT_MAX
from salesops.domain import integrations
from salesops.security import SecuritySettings
from salesops.security.crypto import FieldCipher, keyring

router = APIRouter(prefix="/integrations", tags=["integrations"])
ERRORS = error_responses(401, 403, 404, 409, 422, 429)
IntegrationId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


def cipher(request: Request) -> FieldCipher:
    return keyring(request.app.state.settings)


CipherDep = Annotated[FieldCipher, Depends(cipher)]


def _egress(security: SecuritySettings) -> dict:
    """The SSRF settings an `endpoint_url` is checked by when saved."""
    return {"allow_private": security.ssrf_allow_private,
            "allowed_hosts": tuple(security.ssrf_allowed_hosts)}


@router.get("/{kind}", response_model=list[IntegrationPublic], responses=ERRORS,
            summary="Integrations of a kind")
def list_integrations(kind: Kind, session: SessionDep, actor: ActorDep):
    return integrations.list_integrations(session, actor, kind)


@router.post("/{kind}", response_model=IntegrationPublic, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Add an integration")
def create_integration(kind: Kind, body: IntegrationCreate, session: SessionDep,
                       actor: ActorDep, fields: CipherDep, security: SecurityDep):
    """`credentials` are stored encrypted and never returned (`has_credentials` says
    whether there are some); a secret-looking key in `settings` is refused, and so is an
    `endpoint_url` the SSRF guard would not call (422 `unsafe_url`)."""
    return integrations.create(session, actor, fields, kind,
                               body.model_dump(exclude_unset=True), **_egress(security))


@router.get("/{kind}/{integration_id}", response_model=IntegrationPublic, responses=ERRORS,
            summary="One integration")
def get_integration(kind: Kind, integration_id: IntegrationId, session: SessionDep,
                    actor: ActorDep):
    return integrations.get(session, actor, kind, integration_id)


@router.patch("/{kind}/{integration_id}", response_model=IntegrationPublic, responses=ERRORS,
              summary="Change an integration")
def update_integration(kind: Kind, integration_id: IntegrationId, body: IntegrationUpdate,
                       session: SessionDep, actor: ActorDep, fields: CipherDep,
                       security: SecurityDep):
    """Only the fields sent change; `credentials: null` removes the secrets."""
    return integrations.update(session, actor, fields, kind, integration_id,
                               body.model_dump(exclude_unset=True), **_egress(security))


@router.delete("/{kind}/{integration_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=ERRORS, summary="Remove an integration")
def delete_integration(kind: Kind, integration_id: IntegrationId, session: SessionDep,
                       actor: ActorDep) -> None:
    integrations.delete(session, actor, kind, integration_id)


@router.get("/{kind}/{integration_id}/sync-runs", response_model=SyncRunsPage,
            responses=ERRORS, summary="The integration's sync runs, newest first")
def sync_runs(kind: Kind, integration_id: IntegrationId, session: SessionDep,
              actor: ActorDep,
              cursor: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None,
              limit: Annotated[int, Query(ge=1, le=200)] = integrations.PAGE):
    items, next_cursor = integrations.sync_runs(session, actor, kind, integration_id,
                                                cursor=cursor, limit=limit)
    return {"items": items, "next_cursor": next_cursor}
