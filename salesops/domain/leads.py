"""Lead capture: a web-form submission becomes a contact, a lead and an outbox event.

Everything happens in the caller's single transaction, so the three exist together or not
at all. Rules:

- The contact is found by `app.normalize_email` (the one contact-matching rule, in SQL) or
  created. A form is unauthenticated, so it only fills blanks on an existing contact and
  never overwrites what is known.
- Consent is stored on the contact with the text shown and the time given. A form that
  does not tick the box does not withdraw an earlier consent (that is an opt-out's job).
- The lead is keyed by (source, submission id): submitting the same id again changes
  nothing and emits nothing; a changed re-submission updates the lead (`lead.updated`).
- Concurrent submissions for the same person or the same submission id are safe: the
  inserts use ON CONFLICT against the unique indexes and then lock the winner's row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from salesops import events
from salesops.domain.errors import InvalidInput
from salesops.models import Contact, ContactSource, Lead

UTM_KEYS = ("source", "medium", "campaign", "content", "term")
WEB_LEAD_SOURCE = "Web"  # the channel, in the CRM's LeadSource vocabulary
_LIVE_CONTACT = sa.text("deleted_at is null and merged_into_id is null")


class ConsentInput(TypedDict, total=False):
    given: bool
    text: str | None
    at: datetime | None


def _clean(value: str | None, limit: int = 1000) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split())[:limit]
    return value or None


def _clean_utm(utm: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (utm or {}).items():
        key = str(key).lower().removeprefix("utm_")
        if key in UTM_KEYS and (value := _clean(value, 255)):
            out[key] = value
    return out


def _find_or_create_contact(session: Session, values: dict[str, Any]) -> tuple[Contact, bool]:
    inserted = session.execute(
        pg_insert(Contact).values(**values)
        .on_conflict_do_nothing(index_elements=[Contact.email_normalized],
                                index_where=_LIVE_CONTACT)
        .returning(Contact.id)).scalar()
    contact_id = inserted or session.scalar(
        sa.select(Contact.id).where(Contact.email_normalized == values["email_normalized"],
                                    Contact.deleted_at.is_(None),
                                    Contact.merged_into_id.is_(None)))
    contact = session.get(Contact, contact_id, with_for_update=True, populate_existing=True)
    return contact, inserted is not None


def _fill_blanks(contact: Contact, values: dict[str, Any]) -> None:
    for field in ("first_name", "last_name", "phone", "title"):
        if getattr(contact, field) is None and values.get(field) is not None:
            setattr(contact, field, values[field])


def _apply_consent(session: Session, contact: Contact, consent: Mapping[str, Any] | None) -> None:
    if not consent or consent.get("given") is None:
        return
    given = bool(consent["given"])
    text = _clean(consent.get("text"), 4000)
    if not given and contact.marketing_consent:
        return  # an unticked box is not a withdrawal
    if contact.marketing_consent is given and contact.consent_text == text:
        return  # the same answer to the same text: keep when it was first given
    contact.marketing_consent = given
    contact.consent_text = text
    contact.consent_at = consent.get("at") or session.scalar(sa.select(sa.func.now()))


def capture_lead(session: Session, *, email: str, first_name: str | None = None,
                 last_name: str | None = None, company: str | None = None,
                 phone: str | None = None, job_title: str | None = None,
                 utm: Mapping[str, Any] | None = None,
                 consent: ConsentInput | Mapping[str, Any] | None = None,
                 source: str = "webforms", form_key: str, submission_id: str,
                 message: str | None = None, page_url: str | None = None,
                 submitted_at: datetime | None = None) -> Lead:
    """Record one form submission in the caller's transaction and return its lead."""
    submission_id = _clean(submission_id, 200)
    if not submission_id:
        raise InvalidInput("The submission id is required.", field="submission_id")
    email = (email or "").strip()
    normalized = session.scalar(sa.select(sa.func.app.normalize_email(email)))
    if normalized is None:
        raise InvalidInput(f"{email!r} is not a valid email address." if email
                           else "The email address is required.",
                           field="email", code="invalid_email")

    person = {"first_name": _clean(first_name, 200), "last_name": _clean(last_name, 200),
              "phone": _clean(phone, 100), "title": _clean(job_title, 200)}
    contact, contact_created = _find_or_create_contact(session, {
        "email": email, "email_normalized": normalized, "source": source, **person})
    if not contact_created:
        _fill_blanks(contact, person)
    _apply_consent(session, contact, consent)
    session.execute(pg_insert(ContactSource).values(
        contact_id=contact.id, source=source, source_key=submission_id, match_rule="email")
        .on_conflict_do_nothing(index_elements=[ContactSource.source, ContactSource.source_key]))

    custom = {k: v for k, v in {"form_key": form_key, "message": _clean(message, 10000),
                                "page_url": _clean(page_url, 2000)}.items() if v}
    fields = {"contact_id": contact.id, "company": _clean(company, 300),
              "title": person["title"], "utm": _clean_utm(utm), "custom_fields": custom}
    inserted = session.execute(
        pg_insert(Lead).values(**fields, source=source, source_key=submission_id,
                               lead_source=WEB_LEAD_SOURCE,
                               first_touch_at=submitted_at or sa.func.now())
        .on_conflict_do_nothing(index_elements=[Lead.source, Lead.source_key])
        .returning(Lead.id)).scalar()
    if inserted is not None:
        lead = session.get(Lead, inserted)
        topic = "lead.created"
    else:
        lead = session.scalars(sa.select(Lead).where(
            Lead.source == source, Lead.source_key == submission_id)
            .with_for_update().execution_options(populate_existing=True)).one()
        changed = {k: v for k, v in fields.items() if getattr(lead, k) != v}
        if not changed or lead.deleted_at is not None:
            return lead  # the same submission again: nothing to do
        for key, value in changed.items():
            setattr(lead, key, value)
        session.flush()
        topic = "lead.updated"

    events.emit(session, topic, "lead", lead.id, {
        "lead_id": lead.id, "contact_id": contact.id, "contact_created": contact_created,
        "source": source, "submission_id": submission_id, "form_key": form_key,
        "utm": lead.utm})
    return lead
