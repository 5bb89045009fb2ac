"""Campaigns, communication templates and saved audience segments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.records import Id, LongText, RecordPublic, Text, Update, Write

Money = Annotated[Decimal, Field(ge=0, le=Decimal("99999999999999.99"), decimal_places=2)]
Channel = Literal["email", "sms", "in_app"]
TemplateBody = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
Definition = Annotated[dict[str, Any], Field(description="A segment: a condition "
                       '`{"field", "op", "value"}` or `{"all"|"any": [...]}` / `{"not": ...}`'
                       " of conditions; `{}` is every contact.")]
SEGMENT_EXAMPLE = {"all": [{"field": "lifecycle_stage", "op": "in", "value": ["mql", "sql"]},
                           {"field": "account.industry", "op": "eq", "value": "Software"}]}


class TemplateFields(Write):
    name: Text | None = None
    channel: Channel | None = None
    subject: Text | None = None
    body: TemplateBody | None = None
    owner_id: Id | None = None


class TemplateCreate(TemplateFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Spring offer", "channel": "email", "subject": "Hello {{ first_name }}",
        "body": "<p>Dear {{ full_name }}, ... <a href=\"{{ unsubscribe_url }}\">"
                "unsubscribe</a></p>"}]})

    name: Text
    body: TemplateBody


class TemplateUpdate(TemplateFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "subject": "Hi {{ first_name }}", "version": 2}]})


class TemplatePublic(RecordPublic):
    name: str
    channel: str
    subject: str | None
    body: str
    owner_id: int | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class SegmentFields(Write):
    name: Text | None = None
    description: LongText | None = None
    definition: Definition | None = None
    owner_id: Id | None = None


class SegmentCreate(SegmentFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Software MQLs", "definition": SEGMENT_EXAMPLE}]})

    name: Text
    definition: Definition


class SegmentUpdate(SegmentFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "description": "MQLs and SQLs in software", "version": 1}]})


class SegmentPublic(RecordPublic):
    name: str
    description: str | None
    definition: dict[str, Any]
    owner_id: int | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class SegmentSize(BaseModel):
    count: int = Field(description="Contacts the segment selects now, before consent.")


class CampaignFields(Write):
    name: Text | None = None
    channel: Text | None = None
    campaign_type: Text | None = None
    start_date: date | None = None
    end_date: date | None = None
    budget: Money | None = None
    owner_id: Id | None = None
    template_id: Id | None = None
    segment_id: Id | None = Field(None, description="A saved segment, copied into "
                                  "`audience`.")
    audience: Definition | None = None


class CampaignCreate(CampaignFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Spring 2026", "channel": "email", "template_id": 3, "segment_id": 2,
        "budget": "5000.00"}]})

    name: Text


class CampaignUpdate(CampaignFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "budget": "6000.00", "version": 2}]})


class CampaignPublic(RecordPublic):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "id": 5, "name": "Spring 2026", "channel": "email", "campaign_type": None,
        "status": "draft", "start_date": None, "end_date": None, "budget": "5000.00",
        "actual_cost": None, "owner_id": 42, "template_id": 3, "audience": SEGMENT_EXAMPLE,
        "scheduled_at": None, "approval": "requested",
        "approval_requested_at": "2026-03-04T10:15:00Z", "approved_by": None,
        "approved_at": None, "created_at": "2026-03-04T10:00:00Z",
        "updated_at": "2026-03-04T10:15:00Z", "deleted_at": None, "version": 2,
        "hidden_fields": []}]})

    name: str
    channel: str | None
    campaign_type: str | None
    status: str
    start_date: date | None
    end_date: date | None
    budget: Decimal | None
    actual_cost: Decimal | None
    owner_id: int | None
    template_id: int | None
    audience: dict[str, Any]
    scheduled_at: datetime | None
    approval: Literal["none", "requested", "approved"]
    approval_requested_at: datetime | None
    approved_by: int | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class CampaignSchedule(Write):
    scheduled_at: AwareDatetime | None = Field(None, description="When to send (with its "
                                               "zone); now when not given.")
    version: int | None = Field(None, ge=1)
