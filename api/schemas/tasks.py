"""Tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.records import Id, LongText, RecordPublic, Text, Update, Write

Priority = Literal["low", "normal", "high", "urgent"]
RelatedType = Literal["lead", "deal", "contact"]


class TaskFields(Write):
    title: Text | None = None
    description: LongText | None = None
    priority: Priority | None = None
    task_type: Literal["call", "email", "meeting", "todo"] | None = None
    due_at: datetime | None = None
    assignee_id: Id | None = None
    related_type: RelatedType | None = Field(None, description="What the task is about...")
    related_id: Id | None = Field(None, description="...and which one.")


class TaskCreate(TaskFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Call Ann about pricing", "priority": "high", "task_type": "call",
        "due_at": "2025-03-06T09:00:00Z", "related_type": "lead", "related_id": 1017}]})

    title: Text
    status: Literal["open", "in_progress"] | None = None


class TaskUpdate(TaskFields, Update):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "due_at": "2025-03-07T09:00:00Z", "version": 1}]})

    status: Literal["open", "in_progress", "cancelled"] | None = None


class TaskPublic(RecordPublic):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "id": 5, "title": "Call Ann about pricing", "description": None, "status": "open",
        "priority": "high", "task_type": "call", "due_at": "2025-03-06T09:00:00Z",
        "completed_at": None, "assignee_id": 42, "created_by": 42, "contact_id": None,
        "lead_id": 1017, "deal_id": None, "related_type": "lead", "related_id": 1017,
        "escalated_at": None, "created_at": "2025-03-04T10:15:00Z",
        "updated_at": "2025-03-04T10:15:00Z", "deleted_at": None, "version": 1,
        "hidden_fields": []}]})

    title: str
    description: str | None
    status: str
    priority: str
    task_type: str | None
    due_at: datetime | None
    completed_at: datetime | None
    assignee_id: int | None
    created_by: int | None
    contact_id: int | None
    lead_id: int | None
    deal_id: int | None
    related_type: str | None
    related_id: int | None
    escalated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
