"""The work queue's only way to write: the salesops API, over HTTP (httpx).

Every failure becomes an `ApiError` whose message a rep can act on; the page shows it and
stays usable."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import httpx

from salesops.settings import get_settings

TIMEOUT_SECONDS = 5.0


def api_url() -> str:
    """SALESOPS_API_URL (set by `salesops up`), else the API's configured host and port."""
    settings = get_settings()
    return os.environ.get("SALESOPS_API_URL") or f"http://{settings.host}:{settings.api_port}"


class ApiError(Exception):
    """A request that did not succeed, in words for the page."""


class SessionExpired(ApiError):
    """The access token is no longer accepted: the user must log in again."""


class Api:
    """A logged-in (or not yet) client of the work-queue endpoints."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _call(self, method: str, path: str, **kwargs) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = httpx.request(method, f"{self.base_url}/api/v1{path}", headers=headers,
                                     timeout=TIMEOUT_SECONDS, **kwargs)
        except httpx.TransportError:
            raise ApiError(f"The API at {self.base_url} is not answering. Start it with "
                           "`salesops up` (or set SALESOPS_API_URL), then try again.") from None
        if response.status_code == 401 and self.token:
            raise SessionExpired("Your session has expired: log in again.")
        if response.status_code == 404 and method == "GET":
            raise ApiError(f"This API does not offer /api/v1{path} yet: update the salesops "
                           "API.")
        if response.is_error:
            raise ApiError(_message(response))
        return response.json() if response.content else None

    def login(self, email: str, password: str) -> str:
        """Log in; keeps and returns the access token."""
        if not email or not password:
            raise ApiError("Enter your email and password.")
        try:
            body = self._call("POST", "/auth/login", json={"email": email, "password": password})
        except ApiError as exc:
            raise ApiError(f"Login failed: {exc}") from None
        self.token = body["access_token"]
        return self.token

    def me(self) -> dict:
        """Who is logged in: id, email, full_name, role, team_id."""
        return self._call("GET", "/auth/me")

    def open_leads(self, owners: str | None = None, limit: int = 50) -> list[dict]:
        """Open leads, highest score first: the ones the API lets this user see, or those
        of `owners` ("me", or comma-separated user ids)."""
        params = {"status": "new,working", "sort": "-score", "limit": limit}
        return self._call("GET", "/leads", params=params | (
            {"owner_id": owners} if owners else {}))["items"]

    def open_tasks(self, assignees: str | None = None, overdue: bool = False,
                   limit: int = 50) -> list[dict]:
        """Open tasks, soonest due first: the ones the API lets this user see, or those of
        `assignees`; only the ones already due when `overdue`."""
        params = {"status": "open", "sort": "due_at", "limit": limit}
        if assignees:
            params["assignee_id"] = assignees
        if overdue:
            params["due_before"] = datetime.now(UTC).isoformat()
        return self._call("GET", "/tasks", params=params)["items"]

    def qualify(self, lead_id: int) -> None:
        self._call("POST", f"/leads/{lead_id}/qualify")

    def disqualify(self, lead_id: int, reason: str) -> None:
        if not reason.strip():
            raise ApiError("Say why the lead is disqualified.")
        self._call("POST", f"/leads/{lead_id}/disqualify", json={"reason": reason})

    def complete(self, task_id: int) -> None:
        self._call("POST", f"/tasks/{task_id}/complete")


def _message(response: httpx.Response) -> str:
    """The API's own message (the `detail` of its problem+json), else the status in words."""
    try:
        message = response.json().get("detail")
    except (ValueError, AttributeError):
        message = None
    if response.status_code == 401:
        return message or "wrong email or password."
    return message or f"the API answered {response.status_code} {response.reason_phrase}."
