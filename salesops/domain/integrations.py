"""Settings of the CRM, email and financial integrations, and their sync run history.

Admins only (`permissions.MATRIX[...]["integrations"]`). Secrets (passwords, API tokens)
are given as `credentials`, sealed with the field keyring (`FieldCipher`, AES-GCM, the
column's name as associated data, so `salesops keys rotate` re-encrypts them) and never
returned: reads say only whether credentials are set. `settings` hold what is not secret;
a key that looks like a secret there is refused, so nothing secret is stored in clear.
An `endpoint_url` passes the SSRF guard (`salesops.security.ssrf`) when it is saved.
Every change is audited (credentials never in the entry) with its outbox event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from salesops.domain import audit
from salesops.domain.audit import Actor
from salesops.domain.errors import Conflict, InvalidInput, NotFound
from salesops.models import (
    CrmIntegration,
    EmailIntegration,
    FinancialIntegration,
    IntegrationSyncRun,
)
from salesops.security import permissions, ssrf
from salesops.security.crypto import FieldCipher

MODELS: dict[str, type] = {"crm": CrmIntegration, "email": EmailIntegration,
                           "financial": FinancialIntegration}
#: Fields of each kind besides name, provider, is_enabled and settings.
EXTRA = {"crm": (), "email": ("mailbox_owner_id",), "financial": ("endpoint_url",)}
#: The providers each kind knows (financial: any webhook contract name).
PROVIDERS = {"crm": ("salesforce", "hubspot", "csv"), "email": ("imap", "smtp", "mbox", "maildir"),
             "financial": ()}
_SECRET_KEY = re.compile(r"pass|secret|token|api_?key|private|credential", re.I)
PAGE = 50


def _context(kind: str) -> str:
    return f"{MODELS[kind].__table__.fullname}.credentials_encrypted"


def public(kind: str, row: Any) -> dict[str, Any]:
    out = {"id": row.id, "kind": kind, "name": row.name, "provider": row.provider,
           "is_enabled": row.is_enabled, "settings": row.settings,
           "has_credentials": row.credentials_encrypted is not None,
           "last_synced_at": row.last_synced_at, "status": row.status,
           "created_at": row.created_at, "updated_at": row.updated_at}
    return out | {f: getattr(row, f) for f in EXTRA[kind]}


def _audited(row: Any) -> dict[str, Any]:
    values = audit.snapshot(row)
    values["credentials_encrypted"] = permissions.MASK if row.credentials_encrypted else None
    return values


def _check_settings(values: dict[str, Any]) -> None:
    secret = [k for k in (values.get("settings") or {}) if _SECRET_KEY.search(k)]
    if secret:
        raise InvalidInput(f"settings {secret[0]!r} looks like a secret: send it in "
                           "`credentials`, which are stored encrypted.", field="settings")


def _load(session: Session, actor: Actor, kind: str, integration_id: int, *,
          action: permissions.Action, lock: bool = False) -> Any:
    permissions.require(actor.principal, "integrations", action)
    query = sa.select(MODELS[kind]).where(MODELS[kind].id == integration_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"No {kind} integration {integration_id}.")
    return row


def list_integrations(session: Session, actor: Actor, kind: str) -> list[dict[str, Any]]:
    permissions.require(actor.principal, "integrations", "read")
    return [public(kind, r) for r in session.scalars(
        sa.select(MODELS[kind]).order_by(MODELS[kind].id))]


def get(session: Session, actor: Actor, kind: str, integration_id: int) -> dict[str, Any]:
    return public(kind, _load(session, actor, kind, integration_id, action="read"))


def _check_endpoint(url: str | None, allow_private: bool, allowed_hosts: Iterable[str]
                    ) -> None:
    """An endpoint the server will call passes the SSRF guard when saved, not only when
    called, so a bad one is refused while its author is there to fix it."""
    if url is None:
        return
    try:
        ssrf.check_url(url, allow_private=allow_private, allowed_hosts=allowed_hosts)
    except ssrf.UnsafeUrl as exc:
        raise ssrf.UnsafeUrl(f"endpoint_url: {exc.message}", field="endpoint_url",
                             details={k: v for k, v in exc.details.items() if k != "field"}
                             ) from None


def _apply(session: Session, cipher: FieldCipher, kind: str, row: Any,
           values: dict[str, Any], *, allow_private: bool = False,
           allowed_hosts: Iterable[str] = ()) -> None:
    values = dict(values)
    if wrong := sorted(set(values) & {f for fs in EXTRA.values() for f in fs}
                       - set(EXTRA[kind])):
        raise InvalidInput(f"{wrong[0]} is not a setting of a {kind} integration.",
                           field=wrong[0])
    if nulls := [k for k in ("name", "provider", "is_enabled", "settings")
                 if k in values and values[k] is None]:
        raise InvalidInput(f"{nulls[0]} cannot be null.", field=nulls[0])
    _check_settings(values)
    _check_endpoint(values.get("endpoint_url"), allow_private, allowed_hosts)
    allowed = PROVIDERS[kind]
    if allowed and values.get("provider", row.provider) not in allowed:
        raise InvalidInput(f"A {kind} integration's provider is one of {', '.join(allowed)}.",
                           field="provider")
    if "credentials" in values:
        credentials = values.pop("credentials")
        row.credentials_encrypted = (None if credentials is None else
                                     cipher.seal(json.dumps(credentials), _context(kind)))
    for key, value in values.items():
        setattr(row, key, value)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if isinstance(exc.orig, psycopg.errors.ForeignKeyViolation):
            raise InvalidInput("mailbox_owner_id: no such user.", field="mailbox_owner_id",
                               code="invalid_reference") from None
        raise Conflict(f"There is already a {kind} integration named {row.name!r}.",
                       code="duplicate_integration") from None


def create(session: Session, actor: Actor, cipher: FieldCipher, kind: str,
           values: dict[str, Any], *, allow_private: bool = False,
           allowed_hosts: Iterable[str] = ()) -> dict[str, Any]:
    """`allow_private`, `allowed_hosts`: the SSRF settings `endpoint_url` is checked by."""
    permissions.require(actor.principal, "integrations", "create")
    row = MODELS[kind]()
    session.add(row)
    _apply(session, cipher, kind, row, values, allow_private=allow_private,
           allowed_hosts=allowed_hosts)
    audit.write(session, actor, "integrations", f"{kind}:{row.id}", "create",
                "integration.created", None, _audited(row), {"kind": kind})
    return public(kind, row)


def update(session: Session, actor: Actor, cipher: FieldCipher, kind: str,
           integration_id: int, values: dict[str, Any], *, allow_private: bool = False,
           allowed_hosts: Iterable[str] = ()) -> dict[str, Any]:
    """A partial update; `credentials: null` removes them, leaving them out keeps them."""
    row = _load(session, actor, kind, integration_id, action="update", lock=True)
    before = _audited(row)
    _apply(session, cipher, kind, row, values, allow_private=allow_private,
           allowed_hosts=allowed_hosts)
    session.refresh(row)
    audit.write(session, actor, "integrations", f"{kind}:{row.id}", "update",
                "integration.updated", before, _audited(row), {"kind": kind})
    return public(kind, row)


def delete(session: Session, actor: Actor, kind: str, integration_id: int) -> None:
    row = _load(session, actor, kind, integration_id, action="delete", lock=True)
    before = _audited(row)
    session.delete(row)
    session.flush()
    audit.write(session, actor, "integrations", f"{kind}:{integration_id}", "delete",
                "integration.deleted", before, None, {"kind": kind})


def credentials(session: Session, cipher: FieldCipher, kind: str, integration_id: int
                ) -> dict[str, Any] | None:
    """The opened credentials, for the sync jobs (never for an API answer)."""
    row = session.get(MODELS[kind], integration_id)
    if row is None or row.credentials_encrypted is None:
        return None
    return json.loads(cipher.open(row.credentials_encrypted, _context(kind)))


def sync_runs(session: Session, actor: Actor, kind: str, integration_id: int, *,
              cursor: int | None = None, limit: int = PAGE
              ) -> tuple[list[dict[str, Any]], int | None]:
    """The integration's sync runs, newest first (cursor: the last id seen)."""
    _load(session, actor, kind, integration_id, action="read")
    query = (sa.select(IntegrationSyncRun).where(IntegrationSyncRun.kind == kind,
                                                 IntegrationSyncRun.integration_id
                                                 == integration_id)
             .order_by(IntegrationSyncRun.id.desc()).limit(limit + 1))
    if cursor is not None:
        query = query.where(IntegrationSyncRun.id < cursor)
    runs = list(session.scalars(query))
    next_cursor = runs[limit - 1].id if len(runs) > limit else None
    return [{c: getattr(r, c) for c in ("id", "direction", "status", "started_at",
                                        "finished_at", "records_in", "records_out",
                                        "errors")} for r in runs[:limit]], next_cursor
