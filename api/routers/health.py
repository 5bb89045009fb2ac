"""Liveness and readiness: can we reach the database and Redis?"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.schemas import ComponentHealth, Health
from salesops import __version__

router = APIRouter(tags=["health"])


def _probe(check: Callable[[], object]) -> ComponentHealth:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure means "not ready"; the class name says which
        return ComponentHealth(status="error", error=type(exc).__name__)
    return ComponentHealth(status="ok", latency_ms=round((time.perf_counter() - start) * 1000, 2))


def _database(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("select 1"))


@router.get("/health", response_model=Health,
            responses={503: {"model": Health, "description": "Something is down"}},
            summary="Database and Redis status")
def health(request: Request):
    """200 when the database and Redis answer, 503 (same body) when one does not."""
    state = request.app.state
    report = Health(status="ok", version=__version__,
                    database=_probe(lambda: _database(state.engine)),
                    redis=_probe(state.redis.ping))
    if report.database.status != "ok" or report.redis.status != "ok":
        report.status = "degraded"
        return JSONResponse(report.model_dump(), status_code=503)
    return report
