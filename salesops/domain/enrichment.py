"""Contact enrichment: a configured URL fills in a contact's blanks.

The contract (any service can be put behind it, or an adapter in front of Clearbit-like
APIs): `POST <enrichment_url>` with `{"contact": {"id", "first_name", "last_name",
"email", "title", "company", "domain"}}`; a 200 answer is a JSON object of contact fields,
e.g. `{"title": "CFO", "phone": "+1 555 0100"}`. Only the fields of `ENRICHABLE` that are
blank on the contact are filled: enrichment never overwrites what a person entered. The
call goes through the SSRF guard, so the URL must be public unless the security settings
allow it. The change is audited (`enrich`) with its event; the remote call happens before
the row is locked, so a slow service holds no lock.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from salesops.domain import records
from salesops.domain.audit import Actor
from salesops.domain.contacts import ACCOUNTS, CONTACTS
from salesops.domain.errors import Conflict, DomainError, NotFound, UpstreamFailed
from salesops.security import ssrf

ENRICHABLE = ("first_name", "last_name", "title", "phone")
MAX_VALUE = 300


@dataclass(frozen=True)
class Enricher:
    url: str
    timeout: float = 5.0
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()


@dataclass
class Outcome:
    status: str  # "enriched", "unchanged" or "failed"
    filled: list[str] = field(default_factory=list)
    code: str | None = None
    detail: str | None = None


def _ask(enricher: Enricher, contact: dict[str, Any], company: dict[str, Any] | None
         ) -> dict[str, str]:
    query = {k: contact.get(k) for k in ("id", "first_name", "last_name", "email", "title")}
    query |= {"company": (company or {}).get("name"), "domain": (company or {}).get("domain")}
    try:
        response = ssrf.request("POST", enricher.url, json={"contact": query},
                                timeout=enricher.timeout, allow_private=enricher.allow_private,
                                allowed_hosts=enricher.allowed_hosts)
    except httpx.HTTPError as exc:
        raise UpstreamFailed(f"The enrichment service could not be reached "
                             f"({type(exc).__name__}); try again later.") from None
    if response.status_code != 200:
        raise UpstreamFailed(f"The enrichment service answered {response.status_code}.")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise UpstreamFailed("The enrichment service did not answer a JSON object.")
    return {k: v.strip() for k, v in answer.items()
            if k in ENRICHABLE and isinstance(v, str) and v.strip()
            and len(v) <= MAX_VALUE and "\x00" not in v}


def enrich(session: Session, actor: Actor, enricher: Enricher | None, contact_id: int
           ) -> Outcome:
    """Ask the service about the contact and fill its blank fields (actor must be allowed
    to change it). Raises UpstreamFailed or UnsafeUrl when the service cannot be used,
    Conflict when none is configured."""
    records.load_for_write(session, actor, CONTACTS, contact_id, lock=False)
    if enricher is None:
        raise Conflict("No enrichment service is configured: set SALESOPS_ENRICHMENT_URL.",
                       code="enrichment_not_configured")
    contact = records.get(session, actor, CONTACTS, contact_id)
    company = None
    if contact["account_id"] is not None:
        with suppress(NotFound):  # an account the actor may not see: ask without it
            company = records.get(session, actor, ACCOUNTS, contact["account_id"])
    found = _ask(enricher, contact, company)
    obj = records.load_for_write(session, actor, CONTACTS, contact_id)
    fills = {k: v for k, v in found.items() if getattr(obj, k) in (None, "")}
    if not fills:
        return Outcome("unchanged")
    records.change(session, actor, CONTACTS, obj, fills, action="enrich",
                   topic="contact.enriched", check=False, payload={"filled": sorted(fills)})
    return Outcome("enriched", sorted(fills))


def enrich_quietly(session: Session, actor: Actor, enricher: Enricher, contact_id: int
                   ) -> Outcome:
    """`enrich`, for a contact just created: a failing service is reported, not raised, so
    the contact is kept."""
    try:
        with session.begin_nested():
            return enrich(session, actor, enricher, contact_id)
    except DomainError as exc:
        return Outcome("failed", code=exc.code, detail=exc.message)
