"""Pipelines, their stages, deals and stage history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.contacts import Money
from api.schemas.records import Id, RecordPublic, Text, Update, Write

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class StagePublic(BaseModel):
    id: int
    name: str
    position: int
    probability: int = Field(description="Default win probability (percent) of deals here.")
    forecast_category: str
    is_closed: bool
    is_won: bool


class PipelinePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "name": "Default", "is_default": True, "stages": [
            {"id": 1, "name": "Prospecting", "position": 1, "probability": 10,
             "forecast_category": "pipeline", "is_closed": False, "is_won": False}]}]})

    id: int
    name: str
    is_default: bool
    stages: list[StagePublic]


class DealFields(Write):
    name: Text | None = None
    account_id: Id | None = None
    contact_id: Id | None = None
    owner_id: Id | None = None
    amount: Money | None = None
    currency: Currency | None = None
    expected_close_date: date | None = None
    deal_type: Text | None = None
    lead_source: Text | None = None


class DealCreate(DealFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Acme GmbH - 50 seats", "account_id": 7, "amount": "12000.00",
        "currency": "EUR", "expected_close_date": "2025-06-30"}]})

    name: Text
    pipeline_id: Id | None = Field(None, description="Default: the default pipeline.")
    stage_id: Id | None = Field(None, description="Default: the pipeline's first stage.")


class DealUpdate(DealFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "amount": "15000.00", "version": 2}]})


class DealMove(Write):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "stage_id": 4, "version": 2}]})

    stage_id: Id
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="Required when the stage is a lost one.")
    version: int | None = Field(None, ge=1)


class DealPublic(RecordPublic):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "id": 31, "name": "Acme GmbH - 50 seats", "account_id": 7, "contact_id": 88,
        "lead_id": 1017, "pipeline_id": 1, "stage_id": 4, "stage": "Proposal",
        "owner_id": 42, "campaign_id": None, "amount": "12000.00", "currency": "EUR",
        "probability": 60, "forecast_category": "best_case",
        "expected_close_date": "2025-06-30", "closed_at": None, "is_won": None,
        "loss_reason": None, "deal_type": None, "lead_source": "Web", "contract_id": None,
        "created_at": "2025-03-04T10:15:00Z", "updated_at": "2025-03-04T10:15:00Z",
        "deleted_at": None, "version": 3, "hidden_fields": []}]})

    name: str
    account_id: int | None
    contact_id: int | None
    lead_id: int | None
    pipeline_id: int
    stage_id: int
    stage: str
    owner_id: int | None
    campaign_id: int | None
    amount: Decimal | None
    currency: str
    probability: int | None
    forecast_category: str
    expected_close_date: date | None
    closed_at: datetime | None
    is_won: bool | None
    loss_reason: str | None
    deal_type: str | None
    lead_source: str | None
    contract_id: int | None = Field(description="The contract made when the deal was won.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class StageVisit(BaseModel):
    stage_id: int | None
    stage: str
    probability: int | None
    amount: Decimal | None
    entered_at: datetime
    exited_at: datetime | None
    changed_by: int | None
