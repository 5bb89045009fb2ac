"""Integration settings (secrets write-only) and sync runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.records import Id, Text, Write

Kind = Literal["crm", "email", "financial"]
Credentials = Annotated[dict[str, Annotated[str, Field(max_length=4000)]],
                        Field(max_length=20, description="Secrets (passwords, tokens): "
                              "stored encrypted, never returned.")]
Settings = Annotated[dict[str, Any], Field(max_length=50, description="What is not secret: "
                                           "hosts, folders, options.")]
Url = Annotated[str, Field(max_length=2000)]


class IntegrationFields(Write):
    name: Text | None = None
    provider: Text | None = Field(None, description="crm: salesforce, hubspot, csv; email: "
                                  "imap, smtp, mbox, maildir; financial: the webhook "
                                  "contract's name.")
    is_enabled: bool | None = None
    settings: Settings | None = None
    credentials: Credentials | None = None
    mailbox_owner_id: Id | None = Field(None, description="email only")
    endpoint_url: Url | None = Field(None, description="financial only")


class IntegrationCreate(IntegrationFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Sales mailbox", "provider": "imap",
        "settings": {"host": "imap.example.com", "port": 993, "folder": "INBOX"},
        "credentials": {"username": "sales@example.com", "password": "s3cret"}}]})

    name: Text
    provider: Text


class IntegrationUpdate(IntegrationFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "is_enabled": False}]})


class IntegrationPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1, "kind": "email", "name": "Sales mailbox", "provider": "imap",
        "is_enabled": True, "settings": {"host": "imap.example.com"},
        "has_credentials": True, "last_synced_at": None, "status": None,
        "mailbox_owner_id": None, "created_at": "2025-03-04T10:15:00Z",
        "updated_at": "2025-03-04T10:15:00Z"}]})

    id: int
    kind: Kind
    name: str
    provider: str
    is_enabled: bool
    settings: dict[str, Any]
    has_credentials: bool = Field(description="Whether secrets are stored (they are never "
                                  "returned).")
    last_synced_at: datetime | None
    status: str | None
    mailbox_owner_id: int | None = None
    endpoint_url: str | None = None
    created_at: datetime
    updated_at: datetime


class SyncRun(BaseModel):
    id: int
    direction: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    records_in: int
    records_out: int
    errors: list[Any]


class SyncRunsPage(BaseModel):
    items: list[SyncRun]
    next_cursor: int | None
