"""The audit log: who changed which record, from what to what, from where.

Every write of the domain services calls `record` in the transaction of the change, next
to the outbox event, so the entry exists exactly when the change does. Sensitive values
are masked (`salesops.security.permissions.mask`). Nothing updates or deletes audit rows:
the API only reads them, and the database refuses changes (migration a7e3c1d9f2b4).
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops import events
from salesops.domain.users import Principal
from salesops.models import AuditLog
from salesops.security import permissions


@dataclass(frozen=True)
class Actor:
    """Who acts (the principal) and from where: what every write is audited with."""

    principal: Principal
    request_id: str | None = None
    ip: str | None = None

    @property
    def id(self) -> int:
        return self.principal.id

    @property
    def role(self) -> str:
        return self.principal.role


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The column values of an ORM object, JSON-ready (not derived ones: blind indexes)."""
    return {attr.key: _plain(getattr(obj, attr.key))
            for attr in sa.inspect(type(obj)).column_attrs
            if not attr.columns[0].info.get("derived")}


def record(session: Session, actor: Actor, action: str, resource: str, entity_id: Any,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> AuditLog:
    """Add one audit entry (only the fields that changed, for updates) to the transaction."""
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)} - {"updated_at"}
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after.get(k) for k in sorted(changed)}
    entry = AuditLog(user_id=actor.id, action=action, entity=resource, entity_id=str(entity_id),
                     before=permissions.mask(resource, before),
                     after=permissions.mask(resource, after),
                     request_id=actor.request_id, ip=actor.ip)
    session.add(entry)
    return entry


def write(session: Session, actor: Actor, resource: str, entity_id: Any, action: str,
          topic: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
          payload: dict[str, Any] | None = None) -> None:
    """The audit entry and the outbox event of one change, together."""
    record(session, actor, action, resource, entity_id, before, after)
    events.emit(session, topic, resource.removesuffix("s"), entity_id,
                {"id": entity_id, "by": actor.id, "action": action, **(payload or {})})


def list_entries(session: Session, actor: Actor, *, entity: str | None = None,
                 entity_id: str | None = None, limit: int = 50,
                 before_id: int | None = None) -> list[AuditLog]:
    """The newest entries first (admins only), optionally of one record."""
    permissions.require(actor.principal, "audit_logs", "read")
    query = sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == entity_id)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    return list(session.scalars(query))
