"""Shapes every endpoint shares: the error body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: switch on this, not the message.")
    message: str = Field(description="For people.")
    request_id: str | None = Field(None, description="Quote it when reporting a problem.")
    details: dict[str, Any] | list[Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail

    model_config = {"json_schema_extra": {"examples": [{"error": {
        "code": "authentication_failed", "message": "Incorrect email or password.",
        "request_id": "4f1c2a9e0b7d4d7f9a3e2b1c0d9e8f7a"}}]}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error body for these statuses."""
    descriptions = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed",
                    404: "Not found", 409: "Conflict", 422: "Invalid input",
                    429: "Too many requests (see the Retry-After header)",
                    503: "A backing service is unavailable"}
    # The content is named so that routes answering HTML or images still document their
    # errors as the JSON they are.
    json_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    return {s: {"model": ErrorResponse, "description": descriptions.get(s, "Error"),
                "content": json_body} for s in statuses}
