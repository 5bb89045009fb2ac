"""Accounts and contacts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.schemas.records import DuplicateWarning, Id, RecordPublic, Text, Update, Write

Lifecycle = Literal["subscriber", "lead", "mql", "sql", "opportunity", "customer", "other"]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("99999999999999.99"), decimal_places=2)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]


class AccountFields(Write):
    name: Text | None = None
    domain: Text | None = None
    industry: Text | None = None
    segment: Text | None = None
    employees: Count | None = None
    annual_revenue: Money | None = None
    country: Text | None = None
    city: Text | None = None
    owner_id: Id | None = None
    is_customer: bool | None = None


class AccountCreate(AccountFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Acme GmbH", "domain": "acme.example", "industry": "Manufacturing",
        "employees": 250, "country": "DE"}]})

    name: Text


class AccountUpdate(AccountFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "industry": "Logistics", "version": 3}]})


class AccountPublic(RecordPublic):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "id": 7, "name": "Acme GmbH", "domain": "acme.example", "industry": "Manufacturing",
        "segment": None, "employees": 250, "annual_revenue": None, "country": "DE",
        "city": None, "owner_id": 42, "is_customer": False,
        "created_at": "2025-03-04T10:15:00Z", "updated_at": "2025-03-04T10:15:00Z",
        "deleted_at": None, "version": 1, "hidden_fields": []}]})

    name: str
    domain: str | None
    industry: str | None
    segment: str | None
    employees: int | None
    annual_revenue: Decimal | None
    country: str | None
    city: str | None
    owner_id: int | None
    is_customer: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class AccountCreated(AccountPublic):
    duplicates: list[DuplicateWarning] = Field(
        default_factory=list, description="Accounts with a similar name: a warning only.")


class ContactFields(Write):
    account_id: Id | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=100)] | None = None
    title: Text | None = None
    lifecycle_stage: Lifecycle | None = None
    owner_id: Id | None = None
    email_opt_out: bool | None = None


class ContactCreate(ContactFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com",
        "phone": "+49 30 1234567", "title": "Head of Sales", "account_id": 7}]})


class ContactUpdate(ContactFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "VP Sales", "version": 2}]})


class ContactPublic(RecordPublic):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "id": 88, "account_id": 7, "first_name": "Ann", "last_name": "Lee",
        "email": "ann.lee@example.com", "phone": None, "title": "Head of Sales",
        "lifecycle_stage": "lead", "owner_id": 42, "source": "api",
        "marketing_consent": True, "email_opt_out": False,
        "created_at": "2025-03-04T10:15:00Z", "updated_at": "2025-03-04T10:15:00Z",
        "deleted_at": None, "version": 1, "hidden_fields": ["phone"]}]})

    account_id: int | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    title: str | None
    lifecycle_stage: str
    owner_id: int | None
    source: str | None
    marketing_consent: bool | None
    email_opt_out: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Enrichment(BaseModel):
    status: Literal["enriched", "unchanged", "failed"]
    filled: list[str] = Field(default_factory=list, description="Fields the service filled.")
    code: str | None = Field(None, description="Why it failed, e.g. `upstream_failed`, "
                             "`unsafe_url`.")
    detail: str | None = None


class ContactCreated(ContactPublic):
    duplicates: list[DuplicateWarning] = Field(
        default_factory=list, description="Contacts with a similar name: a warning only.")
    enrichment: Enrichment | None = Field(None, description="What the enrichment service "
                                          "added; null when none is configured. A failure "
                                          "keeps the contact.")


class ContactEnriched(ContactPublic):
    enrichment: Enrichment


class ContactMerge(Write):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "duplicate_ids": [91, 97], "version": 4}]})

    duplicate_ids: list[Id] = Field(min_length=1, max_length=50, description="Contacts to "
                                    "merge into this one; they go to the trash pointing here.")
    version: int | None = Field(None, ge=1, description="The survivor's version you read "
                                "(or send If-Match); a stale one is a 409.")


class ContactMerged(ContactPublic):
    merged_ids: list[int] = Field(description="The duplicates merged into this contact.")
    moved: dict[str, int] = Field(description="Related records moved here, per table "
                                  "(notes, attachments, leads, tasks, sales_pipeline, "
                                  "interactions, contact_sources).")
