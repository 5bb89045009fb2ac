"""Admin: API keys for integration users, and the audit log (read only: no route changes
an audit entry)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import ActorDep, SessionDep
from api.schemas import error_responses
from api.schemas.admin import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, AuditEntry, AuditPage
from api.schemas.records import BIGINT_MAX
from salesops.domain import api_keys, audit
from salesops.domain.errors import InvalidInput

router = APIRouter(tags=["admin"])
ERRORS = error_responses(401, 403, 404, 422, 429)


@router.get("/api-keys", response_model=list[ApiKeyPublic], responses=ERRORS,
            summary="API keys (never the keys themselves)")
def list_keys(session: SessionDep, actor: ActorDep):
    return api_keys.list_keys(session, actor)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED,
             responses=ERRORS, summary="Make an API key for an integration user")
def create_key(body: ApiKeyCreate, session: SessionDep, actor: ActorDep):
    """The key is in the answer once; only its hash is kept. Send it as `X-API-Key`."""
    record, key = api_keys.create_key(session, actor, body.user_id, body.name)
    return {**record, "key": key}


@router.delete("/api-keys/{key_id}", response_model=ApiKeyPublic, responses=ERRORS,
               summary="Revoke an API key")
def revoke_key(key_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)], session: SessionDep,
               actor: ActorDep):
    """It stops working at once."""
    return api_keys.revoke_key(session, actor, key_id)


def _cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{entry_id}".encode()).decode()


def _after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith("a") and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise InvalidInput("The cursor is not valid; start again without it.", field="cursor",
                       code="invalid_cursor")


@router.get("/audit-logs", response_model=AuditPage, responses=ERRORS,
            summary="The audit log, newest first (admins)")
def list_audit(session: SessionDep, actor: ActorDep,
               entity: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z_]+$")
                                 ] = None,
               entity_id: Annotated[str | None, Query(max_length=100, pattern=r"^\w+$")
                                    ] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               cursor: Annotated[str | None, Query(max_length=100)] = None):
    entries = audit.list_entries(session, actor, entity=entity, entity_id=entity_id,
                                 limit=limit + 1, before_id=_after(cursor))
    items = [AuditEntry.model_validate({**{k: getattr(e, k) for k in AuditEntry.model_fields},
                                        "ip": str(e.ip) if e.ip else None})
             for e in entries[:limit]]
    return AuditPage(items=items,
                     next_cursor=_cursor(entries[limit - 1].id) if len(entries) > limit
                     else None)
