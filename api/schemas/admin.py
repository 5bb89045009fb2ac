"""API keys and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.records import Id, Write


class ApiKeyCreate(Write):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "user_id": 9, "name": "HubSpot sync"}]})

    user_id: Id = Field(description="A user of the integration role.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ApiKeyPublic(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="Send as the X-API-Key header. Shown only this once.")


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    user_id: int | None
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None
