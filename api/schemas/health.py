"""The health report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ComponentHealth(BaseModel):
    status: Literal["ok", "error"]
    latency_ms: float | None = None
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: ComponentHealth
    redis: ComponentHealth

    model_config = {"json_schema_extra": {"examples": [{
        "status": "ok", "version": "0.1.0",
        "database": {"status": "ok", "latency_ms": 1.2},
        "redis": {"status": "ok", "latency_ms": 0.4}}]}}
