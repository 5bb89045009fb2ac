"""Typed domain exceptions. Each carries a stable `code` that clients can switch on.

The domain knows nothing of HTTP: the API maps each class to a status code once.
"""

from __future__ import annotations

from typing import Any

from salesops.errors import SalesopsError


class DomainError(SalesopsError):
    """A business rule said no. `code` is stable; `message` is for people."""

    code: str = "domain_error"
    default_message: str = "The request could not be carried out."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    default_message = "The record does not exist, or you may not see it."


class Conflict(DomainError):
    code = "conflict"
    default_message = "The record conflicts with one that already exists."


class StaleVersion(Conflict):
    """Optimistic locking: someone else changed the record since it was read."""

    code = "stale_version"
    default_message = "The record was changed by someone else; reload it and try again."


class PermissionDenied(DomainError):
    code = "permission_denied"
    default_message = "You are not allowed to do this."


class InvalidInput(DomainError):
    code = "invalid_input"
    default_message = "The input is not valid."

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 code: str | None = None, details: dict[str, Any] | None = None) -> None:
        self.field = field
        details = dict(details or {})
        if field:
            details.setdefault("field", field)
        super().__init__(message, code=code, details=details)


class AuthenticationFailed(DomainError):
    """Who you are could not be established. The message never says which part was wrong."""

    code = "authentication_failed"
    default_message = "Incorrect email or password."


class RateLimited(DomainError):
    """Too many attempts; `retry_after` says how many seconds to wait."""

    code = "rate_limited"
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 1,
                 code: str | None = None, details: dict[str, Any] | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, code=code,
                         details={**(details or {}), "retry_after": self.retry_after})


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    default_message = "The upload is too large."


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"
    default_message = "Files of this type are not accepted."


class UpstreamFailed(DomainError):
    """A service the server called on the user's behalf (enrichment, ...) failed."""

    code = "upstream_failed"
    default_message = "The remote service did not answer usefully; try again later."
