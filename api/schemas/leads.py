"""Leads as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class LeadPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 1017, "contact_id": 88, "account_id": None, "company": "Acme GmbH",
        "title": "Head of Sales", "status": "new", "lead_source": "Web", "source": "webforms",
        "source_key": "sub-000123", "owner_id": None,
        "utm": {"source": "google", "medium": "cpc", "campaign": "spring-launch"},
        "created_at": "2025-03-04T10:15:00Z", "updated_at": "2025-03-04T10:15:00Z",
        "version": 1}]})

    id: int
    contact_id: int | None
    account_id: int | None
    company: str | None
    title: str | None
    status: str
    lead_source: str | None
    source: str | None
    source_key: str | None
    owner_id: int | None
    utm: dict[str, str]
    created_at: datetime
    updated_at: datetime
    version: int
