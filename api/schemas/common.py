"""Shapes every endpoint shares: the documented error responses."""

from __future__ import annotations

from typing import Any

from api.problems import MEDIA_TYPE, FieldError, Problem

DESCRIPTIONS = {400: "Bad request", 401: "Not authenticated", 403: "Not allowed",
                404: "Not found", 409: "Conflict", 413: "Too large", 415: "Unsupported type",
                422: "Invalid input", 429: "Too many requests (see the Retry-After header)",
                502: "The remote service failed", 503: "A backing service is unavailable"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these error statuses; `api.problems` gives each
    the Problem schema under application/problem+json."""
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {s: {"description": DESCRIPTIONS.get(s, "Error"), "content": {MEDIA_TYPE: ref}}
            for s in statuses}


__all__ = ["FieldError", "Problem", "error_responses"]
