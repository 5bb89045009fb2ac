"""Every 4xx and 5xx answer as an RFC 7807 problem (`application/problem+json`), here and
nowhere else.

    {"type": "urn:salesops:problem:not_found", "title": "Not Found", "status": 404,
     "detail": "No contact 7 (or you may not see it).", "instance": "/api/v1/contacts/7",
     "code": "not_found", "request_id": "4f1c...", "errors": [...]}

`type` names the problem (one per stable `code`; clients switch on either), `title` is the
status in words, `detail` says what happened and what to do. Extensions: `code`,
`request_id` (also the X-Request-ID header), `errors` (one entry per offending field, for
invalid input) and the error's own details (`retry_after`, `existing_id`,
`current_version`, ...).

`install(app)` registers the handlers and rewrites the OpenAPI document so that every
documented error response is this schema under this media type; schemathesis then checks
every error the API gives against it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import redis
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from salesops.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UnsupportedMediaType,
    UpstreamFailed,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:salesops:problem:"
REQUEST_ID_HEADER = "X-Request-ID"
#: Members of the body a domain error's details may not overwrite.
RESERVED = frozenset({"type", "title", "status", "detail", "instance", "code", "request_id",
                      "errors"})

#: Domain exception -> HTTP status; the most specific class in the MRO wins.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 422,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    UpstreamFailed: 502,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
}


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending input, e.g. `fields.email`; "
                       "empty for the body as a whole.")
    message: str
    type: str = Field(description="What kind of error, e.g. `missing`, `string_too_long`, "
                      "`invalid_email`.")


class Problem(BaseModel):
    """An RFC 7807 problem detail."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "urn:salesops:problem:duplicate_contact", "title": "Conflict", "status": 409,
        "detail": "A contact with this email address already exists.",
        "instance": "/api/v1/contacts", "code": "duplicate_contact",
        "request_id": "4f1c2a9e0b7d4d7f9a3e2b1c0d9e8f7a", "existing_id": 42}]})

    type: str = Field(description="`urn:salesops:problem:<code>`: the kind of problem.")
    title: str = Field(description="The HTTP status in words.")
    status: int
    detail: str = Field(description="For people: what happened and what to do next.")
    instance: str = Field(description="The path of the request that failed.")
    code: str = Field(description="Stable, machine-readable: switch on this, not on detail.")
    request_id: str | None = Field(None, description="Quote it when reporting a problem.")
    errors: list[FieldError] | None = Field(None, description="The offending fields, for "
                                            "invalid input.")


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def problem(request: Request, status: int, code: str, detail: str, *,
            errors: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem+json response for this request."""
    request_id = getattr(request.state, "request_id", None)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code, "title": HTTPStatus(status).phrase, "status": status,
        "detail": detail, "instance": request.url.path, "code": code,
        "request_id": request_id}
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in (extra or {}).items() if k not in RESERVED})
    headers = dict(headers or {})
    if request_id:  # also for the 500s answered outside the request-id middleware
        headers[REQUEST_ID_HEADER] = request_id
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers,
                        media_type=MEDIA_TYPE)


def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    extra = dict(exc.details)
    field = extra.pop("field", None)
    errors = [{"field": field, "message": exc.message, "type": exc.code}] if field else None
    return problem(request, status_for(exc), exc.code, exc.message, errors=errors,
                   extra=extra, headers=headers)


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
               "message": str(e.get("msg")), "type": str(e.get("type"))} for e in exc.errors()]
    summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
    return problem(request, 422, "validation_error", f"Invalid request: {summary}",
                   errors=errors)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed",
            413: "payload_too_large"}.get(exc.status_code, "http_error")
    return problem(request, exc.status_code, code, str(exc.detail),
                   headers=getattr(exc, "headers", None))


def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
    return problem(request, 409, "stale_version",
                   "The record was changed by someone else; reload it and try again.")


def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Starlette still re-raises it afterwards, so the server logs the traceback
    return problem(request, 500, "internal_error",
                   "Something went wrong on our side; quote the request id if you report it.")


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("backing service unavailable (request %s): %s",
              getattr(request.state, "request_id", None), exc)
    return problem(request, 503, "service_unavailable",
                   "A backing service is unavailable; try again shortly.",
                   headers={"Retry-After": "5"})


def _is_generic(response: dict[str, Any]) -> bool:
    """An error response documented without a body of its own (FastAPI's default 422
    included). The one exception is the health check's 503, a status report by design."""
    refs = {c.get("schema", {}).get("$ref", "") for c in response.get("content", {}).values()}
    return not refs - {"", "#/components/schemas/HTTPValidationError",
                       "#/components/schemas/Problem"}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every error response as a Problem."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = FastAPI.openapi(app)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldError, Problem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    body = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45" and _is_generic(response):
                    response["content"] = body
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def install(app: FastAPI) -> None:
    """Answer every error of `app` as a problem, and document it so."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(Exception, _internal)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _unavailable)
    app.add_exception_handler(redis.ConnectionError, _unavailable)
    app.openapi = lambda: _openapi(app)
