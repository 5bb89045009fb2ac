"""HubSpot CRM API v3 over httpx: contacts, companies, deals, engagements, owners, pipelines.

- Pages follow `paging.next.after` until there is none.
- Incremental: the first read lists everything; later reads use the search API with
  `<last-modified property> GTE cursor`, sorted ascending, so each batch's last record is
  a cursor that never passes what was loaded. Search stops at 10,000 results per query
  (`after` may not go past it): the query starts again from the last time seen.
- Backoff: 429 and 5xx are retried, waiting Retry-After when the server sends it, else
  exponentially; when `X-HubSpot-RateLimit-Remaining` (or `-Secondly-Remaining`) reaches 0
  the next request waits `X-HubSpot-RateLimit-Interval-Milliseconds` (or a second).
- Merged contacts: the survivor lists the ids merged into it in `hs_merged_object_ids`;
  records keep it, and the merge into `app` maps those ids onto the survivor's contact.

Writing (reverse ETL): `read_properties` reads objects by id with their properties'
history (`/batch/read`), `update_properties` writes them (`/batch/update`), 100 per call;
a 207 answer names the ids it could not change, and those come back as errors.

Records are the API's objects kept whole (id, properties, createdAt, updatedAt, archived);
the source key is the id (`<type>:<id>` for engagements and pipelines).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.records import RecordBatch
from salesops.errors import SalesopsError

SOURCE = "hubspot"
BASE_URL = "https://api.hubapi.com"
PAGE_SIZE = 100
BATCH_SIZE = 100  # the batch endpoints' limit
SEARCH_LIMIT = 10_000
#: Engagement object types, read into one `engagements` entity.
ENGAGEMENT_TYPES = ("calls", "emails", "meetings", "notes", "tasks")
#: Objects read with the search API when a cursor exists, and their last-modified property.
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                     "deals": "hs_lastmodifieddate",
                     **dict.fromkeys(ENGAGEMENT_TYPES, "hs_lastmodifieddate")}
PROPERTIES = {
    "contacts": ("email", "firstname", "lastname", "phone", "jobtitle", "company",
                 "lifecyclestage", "hs_email_optout", "hubspot_owner_id",
                 "hs_merged_object_ids", "createdate", "lastmodifieddate"),
    "companies": ("name", "domain", "industry", "numberofemployees", "annualrevenue",
                  "country", "city", "hubspot_owner_id", "hs_merged_object_ids",
                  "createdate", "hs_lastmodifieddate"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate", "dealtype",
              "hubspot_owner_id", "hs_merged_object_ids", "createdate", "hs_lastmodifieddate"),
    "calls": ("hs_timestamp", "hs_call_title", "hs_call_body", "hs_call_direction",
              "hs_call_duration", "hubspot_owner_id", "hs_lastmodifieddate"),
    "emails": ("hs_timestamp", "hs_email_subject", "hs_email_text", "hs_email_direction",
               "hubspot_owner_id", "hs_lastmodifieddate"),
    "meetings": ("hs_timestamp", "hs_meeting_title", "hs_meeting_body", "hubspot_owner_id",
                 "hs_lastmodifieddate"),
    "notes": ("hs_timestamp", "hs_note_body", "hubspot_owner_id", "hs_lastmodifieddate"),
    "tasks": ("hs_timestamp", "hs_task_subject", "hs_task_status", "hubspot_owner_id",
              "hs_lastmodifieddate"),
}
ENTITIES = ("contacts", "companies", "deals", "engagements", "owners", "pipelines")


class HubSpotError(SalesopsError):
    """HubSpot refused or kept failing; the message says what to do."""


@dataclass(frozen=True)
class Retry:
    attempts: int = 8
    base: float = 1.0
    cap: float = 60.0


@dataclass
class HubSpotBatch(RecordBatch):
    #: The cursor once this batch has landed (None: do not move it). A batch without rows
    #: only moves the cursor.
    cursor: dict[str, Any] | None = None
    cursor_entity: str = ""


@dataclass
class HubSpotClient:
    token: str
    base_url: str = BASE_URL
    retry: Retry = field(default_factory=Retry)
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    _wait_next: float = 0.0

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=self.timeout,
                                 headers={"Authorization": f"Bearer {self.token}"})

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, retried on 429, 5xx and network errors; the JSON body."""
        guesses = 0  # waits without a Retry-After: these grow exponentially
        for attempt in range(1, self.retry.attempts + 1):
            if self._wait_next:
                self.sleep(self._wait_next)
                self._wait_next = 0.0
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem, wait = f"{type(exc).__name__}: {exc}", None
            else:
                self._note_limits(response.headers)
                if response.status_code < 400:
                    return response.json()
                if response.status_code in (401, 403):
                    raise HubSpotError(f"HubSpot refused the token ({response.status_code} on "
                                       f"{path}): check HUBSPOT_TOKEN and its scopes")
                if response.status_code != 429 and response.status_code < 500:
                    raise HubSpotError(f"HubSpot answered {response.status_code} on {path}: "
                                       f"{response.text[:300]}")
                problem = f"HTTP {response.status_code}"
                wait = _retry_after(response.headers)
            if attempt == self.retry.attempts:
                raise HubSpotError(f"HubSpot kept failing on {path} ({problem}) after "
                                   f"{attempt} attempts; what loaded is kept: run the ingest "
                                   "again later")
            if wait is None:
                wait = min(self.retry.cap, self.retry.base * 2 ** guesses)
                wait *= random.uniform(0.5, 1.0)
                guesses += 1
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _note_limits(self, headers: httpx.Headers) -> None:
        """Wait before the next call when a rate-limit window is used up."""
        if headers.get("X-HubSpot-RateLimit-Remaining") == "0":
            interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
            self._wait_next = max(self._wait_next, _number(interval, 10_000) / 1000)
        if headers.get("X-HubSpot-RateLimit-Secondly-Remaining") == "0":
            self._wait_next = max(self._wait_next, 1.0)

    # --- writing back ---

    def read_properties(self, object_type: str, ids: list[str], properties: list[str]
                        ) -> dict[str, dict[str, tuple[str | None, int | None]]]:
        """Per id, each property's (value, epoch ms of its last change); ids HubSpot does
        not know are left out. The change time is the newest history entry's, else the
        object's last modification."""
        found: dict[str, dict[str, tuple[str | None, int | None]]] = {}
        for chunk in _chunks(ids, BATCH_SIZE):
            body = self.request("POST", f"/crm/v3/objects/{object_type}/batch/read", json={
                "properties": properties, "propertiesWithHistory": properties,
                "inputs": [{"id": i} for i in chunk]})
            for obj in body.get("results") or []:
                history = obj.get("propertiesWithHistory") or {}
                modified = modified_ms(obj, object_type)
                values = obj.get("properties") or {}
                found[str(obj["id"])] = {
                    p: (values.get(p), _ms((history.get(p) or [{}])[0].get("timestamp"))
                        or modified) for p in properties}
        return found

    def update_properties(self, object_type: str, changes: dict[str, dict[str, str | None]]
                          ) -> dict[str, str]:
        """Write properties by id; the ids HubSpot refused, with its message."""
        refused: dict[str, str] = {}
        for chunk in _chunks(list(changes), BATCH_SIZE):
            body = self.request("POST", f"/crm/v3/objects/{object_type}/batch/update", json={
                "inputs": [{"id": i, "properties": changes[i]} for i in chunk]})
            for error in body.get("errors") or []:
                message = f"{error.get('category', 'ERROR')}: {error.get('message', '')}"
                for i in (error.get("context") or {}).get("ids") or chunk:
                    refused[str(i)] = message
        return refused

    # --- reading ---

    def list_objects(self, object_type: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of every (unarchived) object of a type."""
        # No associations: search cannot return them, and a record must look the same
        # whichever endpoint read it, or an unchanged one would count as a new version.
        params: dict[str, Any] = {"limit": PAGE_SIZE,
                                  "properties": ",".join(PROPERTIES[object_type])}
        yield from self._pages("GET", f"/crm/v3/objects/{object_type}", params=params)

    def search_modified(self, object_type: str, since_ms: int) -> Iterator[list[dict[str, Any]]]:
        """Pages of objects modified at or after `since_ms`, oldest first."""
        prop = MODIFIED_PROPERTY[object_type]
        while True:
            body = {"filterGroups": [{"filters": [
                        {"propertyName": prop, "operator": "GTE", "value": str(since_ms)}]}],
                    "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
                    "properties": list(PROPERTIES[object_type]), "limit": PAGE_SIZE}
            seen = 0
            last = since_ms
            for page in self._pages("POST", f"/crm/v3/objects/{object_type}/search", json=body,
                                    stop_at=SEARCH_LIMIT):
                seen += len(page)
                if page:
                    last = modified_ms(page[-1], object_type) or last
                yield page
            if seen < SEARCH_LIMIT or last == since_ms:
                return
            since_ms = last  # past the search window: start again from the last time seen

    def owners(self) -> Iterator[list[dict[str, Any]]]:
        yield from self._pages("GET", "/crm/v3/owners", params={"limit": PAGE_SIZE})

    def pipelines(self, object_type: str = "deals") -> list[dict[str, Any]]:
        return self.request("GET", f"/crm/v3/pipelines/{object_type}").get("results", [])

    def _pages(self, method: str, path: str, params: dict[str, Any] | None = None,
               json: dict[str, Any] | None = None,
               stop_at: int | None = None) -> Iterator[list[dict[str, Any]]]:
        after: str | None = None
        while True:
            if method == "GET":
                body = self.request(method, path, params={**(params or {}),
                                                          **({"after": after} if after else {})})
            else:
                body = self.request(method, path, json={**(json or {}),
                                                        **({"after": after} if after else {})})
            results = body.get("results")
            if not isinstance(results, list):
                raise HubSpotError(f"HubSpot's answer on {path} has no results list")
            yield results
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after or (stop_at is not None and _number(after, 0) >= stop_at):
                return


def read(client: HubSpotClient, cursors: dict[str, dict[str, Any] | None],
         entities: tuple[str, ...] = ENTITIES) -> Iterator[HubSpotBatch]:
    """Batches per entity; `cursors` maps an object type to its stored cursor."""
    for entity in entities:
        if entity in ("contacts", "companies", "deals"):
            yield from _objects(client, entity, entity, cursors.get(entity))
        elif entity == "engagements":
            for kind in ENGAGEMENT_TYPES:
                yield from _objects(client, entity, kind, cursors.get(kind))
        elif entity == "owners":
            for page in client.owners():
                yield HubSpotBatch(SOURCE, "owners", "/crm/v3/owners",
                                   [{**o, "source_key": str(o["id"])} for o in page])
        elif entity == "pipelines":
            results = client.pipelines("deals")
            yield HubSpotBatch(SOURCE, "pipelines", "/crm/v3/pipelines/deals",
                               [{**p, "object_type": "deals", "source_key": f"deals:{p['id']}"}
                                for p in results])
        else:
            raise HubSpotError(f"unknown HubSpot entity {entity!r}: one of {', '.join(ENTITIES)}")


def _objects(client: HubSpotClient, entity: str, object_type: str,
             cursor: dict[str, Any] | None) -> Iterator[HubSpotBatch]:
    origin = f"/crm/v3/objects/{object_type}"
    prefix = f"{object_type}:" if entity == "engagements" else ""

    def records(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        extra = {"type": object_type} if prefix else {}
        return [{**o, **extra, "source_key": f"{prefix}{o['id']}"} for o in page]

    if cursor:  # incremental: ascending, so each batch may move the cursor
        for page in client.search_modified(object_type, int(cursor["modified_ms"])):
            if page:
                last = max(modified_ms(o, object_type) or 0 for o in page)
                yield HubSpotBatch(SOURCE, entity, origin + "/search", records(page),
                                   cursor={"modified_ms": max(last, int(cursor["modified_ms"]))},
                                   cursor_entity=object_type)
        return
    newest = 0
    for page in client.list_objects(object_type):  # unsorted: the cursor moves at the end
        newest = max([newest, *(modified_ms(o, object_type) or 0 for o in page)])
        yield HubSpotBatch(SOURCE, entity, origin, records(page), cursor_entity=object_type)
    if newest:  # no records: only the cursor, once every page has landed
        yield HubSpotBatch(SOURCE, entity, origin, cursor={"modified_ms": newest},
                           cursor_entity=object_type)


def modified_ms(obj: dict[str, Any], object_type: str) -> int | None:
    """An object's last-modified time in epoch milliseconds (property, else updatedAt)."""
    value = (obj.get("properties") or {}).get(MODIFIED_PROPERTY.get(object_type, "")) \
        or obj.get("updatedAt")
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)


def _ms(value: Any) -> int | None:
    return modified_ms({"updatedAt": value}, "") if value else None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    return None if value is None else max(0.0, _number(value, 1))


def _number(value: str, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
