"""Notes and attachments of contacts and accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.records import Write

NoteText = Annotated[str, StringConstraints(min_length=1, max_length=20000)]


class NoteCreate(Write):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "body": "Budget approved for Q3; call back in June.", "is_private": False}]})

    body: NoteText
    is_private: bool = Field(False, description="Only sales roles and you see the body.")


class NotePublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 3, "contact_id": 7, "account_id": None, "author_id": 42,
        "body": "Budget approved for Q3.", "is_private": False,
        "created_at": "2025-03-04T10:15:00Z", "updated_at": "2025-03-04T10:15:00Z",
        "hidden_fields": []}]})

    id: int
    contact_id: int | None
    account_id: int | None
    author_id: int | None
    body: str | None = Field(description="Null when private and your role may not see it.")
    is_private: bool
    created_at: datetime
    updated_at: datetime
    hidden_fields: list[str]


class NotesPage(BaseModel):
    items: list[NotePublic]
    next_cursor: int | None = Field(description="Pass as `cursor` for older notes.")


class AttachmentPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 5, "contact_id": 7, "account_id": None, "filename": "offer.pdf",
        "content_type": "application/pdf", "size_bytes": 48213,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "uploaded_by": 42, "created_at": "2025-03-04T10:15:00Z"}]})

    id: int
    contact_id: int | None
    account_id: int | None
    filename: str = Field(description="As uploaded, cleaned of folders and control "
                          "characters.")
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: int | None
    created_at: datetime
