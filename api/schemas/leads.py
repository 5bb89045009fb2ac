"""Leads as the API shows them: the lead, its contact's name and email, its latest score."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.contacts import Count, Money
from api.schemas.records import Id, RecordPublic, Text, Update, Write


class LeadPublic(BaseModel):
    """What the public form endpoint reports about the lead it made."""

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


class LeadRecord(RecordPublic):
    """A lead in the work queue: with its contact's name and email, its latest score and
    its next best action (null when not scored yet)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "id": 1017, "contact_id": 88, "first_name": "Ann", "last_name": "Lee",
        "email": "ann.lee@example.com", "phone": None, "account_id": None,
        "company": "Acme GmbH", "title": "Head of Sales", "industry": None, "employees": None,
        "status": "new", "lead_source": "Web", "campaign_id": None, "owner_id": 42,
        "utm": {"source": "google"}, "source": "webforms", "source_key": "sub-000123",
        "first_touch_at": "2025-03-04T10:15:00Z", "qualified_at": None,
        "disqualified_reason": None, "converted_at": None, "converted_deal_id": None,
        "score": 87, "band": "A", "score_probability": 0.61,
        "score_reasons": [{"feature": "visited_pricing", "contribution": 0.21}],
        "scored_at": "2025-03-05T02:00:00Z", "next_best_action": "call",
        "next_best_action_reason": "similar records progressed 41% of the time within 14 "
                                   "days after a call, 12% when left alone",
        "next_best_action_confidence": 0.41, "created_at": "2025-03-04T10:15:00Z",
        "updated_at": "2025-03-04T10:15:00Z", "deleted_at": None, "version": 1,
        "hidden_fields": ["phone"]}]})

    contact_id: int | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    account_id: int | None
    company: str | None
    title: str | None
    industry: str | None
    employees: int | None
    status: str
    lead_source: str | None
    campaign_id: int | None
    owner_id: int | None
    utm: dict[str, Any]
    source: str | None
    source_key: str | None
    first_touch_at: datetime | None
    qualified_at: datetime | None
    disqualified_reason: str | None
    converted_at: datetime | None
    converted_deal_id: int | None
    score: int | None
    band: str | None
    score_probability: float | None
    score_reasons: list[Any] | None
    scored_at: datetime | None
    next_best_action: str | None = None
    next_best_action_reason: str | None = None
    next_best_action_confidence: float | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class LeadUpdate(Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "status": "working", "owner_id": 42, "version": 1}]})

    status: Literal["new", "working", "nurturing"] | None = None
    owner_id: Id | None = None
    company: Text | None = None
    title: Text | None = None
    industry: Text | None = None
    employees: Count | None = None


class LeadConvert(Write):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "deal_name": "Acme GmbH - 50 seats", "amount": "12000.00",
        "expected_close_date": "2025-06-30"}]})

    deal_name: Text | None = None
    amount: Money | None = None
    expected_close_date: date | None = None
    version: int | None = Field(None, ge=1)


class LeadConverted(BaseModel):
    lead: LeadRecord
    deal_id: int
    contact_id: int
    account_id: int | None
