"""Lead capture: a web-form submission becomes a contact, a lead, an outbox event and an
audit entry.

`LEADS` and the functions after `capture_lead` work leads: update, qualify, disqualify
with a reason, convert into a deal. The read model carries the latest ml.lead_scores row.

Everything happens in the caller's single transaction, so they exist together or not at
all. Rules:

- The contact is found by `app.normalize_email` (the one contact-matching rule, in SQL) or
  created. A form is unauthenticated, so it only fills blanks on an existing contact and
  never overwrites what is known.
- Consent is stored on the contact with the text shown and the time given. A form that
  does not tick the box does not withdraw an earlier consent (that is an opt-out's job).
- The lead is keyed by (source, submission id): submitting the same id again changes
  nothing and emits nothing; a changed re-submission updates the lead (`lead.updated`).
- A new lead gets its owner at once by the assignment rules (`assignment`), or stays
  unowned with the reason recorded.
- Concurrent submissions for the same person or the same submission id are safe: the
  inserts use ON CONFLICT against the unique indexes and then lock the winner's row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.db import DriverStatement, compact_sql
from salesops.domain import assignment, deals, records
from salesops.domain.audit import Actor
from salesops.domain.contacts import ACCOUNTS, CONTACTS
from salesops.domain.errors import Conflict, InvalidInput
from salesops.domain.records import Filter, Resource, columns, names
from salesops.models import Account, Contact, Deal, Lead, LeadScore, NextBestAction
from salesops.models.crm import remember_names
from salesops.security import permissions
from salesops.security.sealed import phone_index

UTM_KEYS = ("source", "medium", "campaign", "content", "term")
WEB_LEAD_SOURCE = "Web"  # the channel, in the CRM's LeadSource vocabulary


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


#: A form fills blanks only; the consent rules above, in SQL: `t` is the stored contact,
#: `excluded` the submission (consent null when the form had no consent box).
_FILLS_BLANKS = " or ".join(f"(t.{c} is null and excluded.{c} is not null)"
                            for c in ("first_name", "last_name", "phone", "title"))
_CONSENT_CHANGES = """(excluded.marketing_consent is not null
    and (excluded.marketing_consent or t.marketing_consent is not true)
    and (t.marketing_consent is distinct from excluded.marketing_consent
         or t.consent_text is distinct from excluded.consent_text))"""

#: One round trip: the live contact with the email's matching key (inserted when there
#: is none, else locked, its blanks filled and its consent applied; its name added to
#: those search reads), the submission's
#: lineage row, the lead (unless the submission was captured before) and the active
#: assignment rules: (matching key, contact id, contact created, lead id, rules). The key
#: is null for an invalid email; the contact id is null only when a transaction that
#: committed after this statement began inserted the same person and this submission
#: changes nothing on them: the statement's next run sees that contact.
_CAPTURE = DriverStatement(sa.text(compact_sql(f"""
    with k as (select app.normalize_email(:email) as key),
    ins as (
        insert into app.contacts as t (email, email_normalized, source, first_name,
                                       last_name, phone, phone_index, title,
                                       marketing_consent, consent_text, consent_at)
        select :email, k.key, :source, :first_name, :last_name, :phone, :phone_index, :title,
               cast(:consent as boolean), :consent_text,
               case when cast(:consent as boolean) is not null
                    then coalesce(:consent_at, now()) end
        from k where k.key is not null
        on conflict (email_normalized) where deleted_at is null and merged_into_id is null
        do update set
            first_name = coalesce(t.first_name, excluded.first_name),
            last_name = coalesce(t.last_name, excluded.last_name),
            phone = coalesce(t.phone, excluded.phone),
            phone_index = case when t.phone is null then excluded.phone_index
                               else t.phone_index end,
            title = coalesce(t.title, excluded.title),
            marketing_consent = case when {_CONSENT_CHANGES} then excluded.marketing_consent
                                     else t.marketing_consent end,
            consent_text = case when {_CONSENT_CHANGES} then excluded.consent_text
                                else t.consent_text end,
            consent_at = case when {_CONSENT_CHANGES} then excluded.consent_at
                              else t.consent_at end,
            version = t.version + 1, updated_at = now()
        where {_FILLS_BLANKS} or {_CONSENT_CHANGES}
        returning t.id, t.xmax = 0 as created, t.first_name, t.last_name),
    names as ({remember_names("ins")}),
    person as (
        select k.key, coalesce((select id from ins), (select c.id from app.contacts c
                   where c.email_normalized = k.key and c.deleted_at is null
                   and c.merged_into_id is null)) as id,
               coalesce((select created from ins), false) as created
        from k),
    lineage as (
        insert into app.contact_sources (contact_id, source, source_key, match_rule)
        select id, :source, :source_key, 'email' from person where id is not null
        on conflict (source, source_key) do nothing),
    lead as (
        insert into app.leads (contact_id, company, title, utm, custom_fields, source,
                               source_key, lead_source, first_touch_at)
        select id, :company, :title, cast(:utm as jsonb), cast(:custom as jsonb), :source,
               :source_key, :lead_source, coalesce(:first_touch_at, now())
        from person where id is not null
        on conflict (source, source_key) do nothing
        returning id)
    select key, id, created, (select id from lead), {assignment.ACTIVE_RULES}
    from person""")).bindparams(
    *(sa.bindparam(name, type_=sa.Text) for name in (
        "email", "source", "source_key", "first_name", "last_name", "phone_index", "title",
        "consent_text", "company", "lead_source")),
    sa.bindparam("phone", type_=Contact.__table__.c.phone.type),
    sa.bindparam("consent_at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("first_touch_at", type_=sa.DateTime(timezone=True))))

#: The outbox event and the audit entry of a capture, with the lead's owner as it stands
#: after assignment, in one round trip; returns the owner.
_ANNOUNCE = DriverStatement(sa.text("""
    with l as (select owner_id from app.leads where id = :lead_id),
    event as (
        insert into app.events (topic, aggregate_type, aggregate_id, payload)
        select :topic, 'lead', cast(:lead_id as text),
               cast(:payload as jsonb) || jsonb_build_object('owner_id', l.owner_id)
        from l),
    audit as (
        insert into app.audit_logs (user_id, action, entity, entity_id, before, after,
                                    request_id, ip)
        select null, :action, 'leads', cast(:lead_id as text), cast(:before as jsonb),
               cast(:after as jsonb) || jsonb_build_object('owner_id', l.owner_id),
               :request_id, cast(:ip as inet)
        from l)
    select owner_id from l"""))


@dataclass(frozen=True)
class CapturedLead:
    """What a capture did: the lead, its owner after assignment, its contact, and whether
    the lead was `created`, `updated` (a changed re-submission) or left `unchanged`."""

    id: int
    owner_id: int | None
    contact_id: int
    outcome: Literal["created", "updated", "unchanged"]


def is_honeypot(*answers: str | None) -> bool:
    """A form's hidden field (`website`) filled in: a bot. Its submission is thanked for
    and dropped, by the endpoint and by a backfill of past exports alike."""
    return any((answer or "").strip() for answer in answers)


def capture_lead(session: Session, *, email: str, first_name: str | None = None,
                 last_name: str | None = None, company: str | None = None,
                 phone: str | None = None, job_title: str | None = None,
                 country: str | None = None, utm: Mapping[str, Any] | None = None,
                 consent: ConsentInput | Mapping[str, Any] | None = None,
                 source: str = "webforms", form_key: str, submission_id: str,
                 message: str | None = None, page_url: str | None = None,
                 submitted_at: datetime | None = None, request_id: str | None = None,
                 ip: str | None = None) -> CapturedLead:
    """Record one form submission in the caller's transaction.

    A new lead takes three statements, each compiled once: the contact with its lineage,
    the lead and the active assignment rules; the assignment; the event with the audit
    entry (no user: a public form; `request_id` and `ip` say where from)."""
    submission_id = _clean(submission_id, 200)
    if not submission_id:
        raise InvalidInput("The submission id is required.", field="submission_id")
    email = (email or "").strip()
    person = {"first_name": _clean(first_name, 200), "last_name": _clean(last_name, 200),
              "phone": _clean(phone, 100), "title": _clean(job_title, 200)}
    given = consent.get("given") if consent else None
    custom = {k: v for k, v in {"form_key": form_key, "message": _clean(message, 10000),
                                "page_url": _clean(page_url, 2000),
                                "country": _clean(country, 100)}.items() if v}
    utm = _clean_utm(utm)
    company = _clean(company, 300)
    params = {
        "email": email, "source": source, "source_key": submission_id, **person,
        "phone_index": phone_index(person["phone"]),
        "consent": None if given is None else bool(given),
        "consent_text": _clean(consent.get("text"), 4000) if given is not None else None,
        "consent_at": consent.get("at") if given is not None else None,
        "company": company, "utm": json.dumps(utm), "custom": json.dumps(custom),
        "lead_source": WEB_LEAD_SOURCE, "first_touch_at": submitted_at}
    for _ in range(2):  # a second run only when another transaction added the person
        key, contact_id, contact_created, lead_id, rules = _CAPTURE.execute(session, params)
        if key is None:
            raise InvalidInput(f"{email!r} is not a valid email address." if email
                               else "The email address is required.",
                               field="email", code="invalid_email")
        if contact_id is not None:
            break
    else:  # READ COMMITTED sees the other transaction's person in the second run
        raise Conflict("The contact changed while the submission was stored; send it "
                       "again.", code="concurrent_change")
    fields = {"contact_id": contact_id, "company": company, "title": person["title"],
              "utm": utm, "custom_fields": custom}
    before = None
    if lead_id is not None:
        assignment.assign(session, [lead_id], rules=rules)  # an owner at once, by the rules
        outcome = "created"
    else:
        lead = session.scalars(sa.select(Lead).where(
            Lead.source == source, Lead.source_key == submission_id)
            .with_for_update().execution_options(populate_existing=True)).one()
        lead_id = lead.id
        changed = {k: v for k, v in fields.items() if getattr(lead, k) != v}
        if not changed or lead.deleted_at is not None:  # the same submission again
            return CapturedLead(lead_id, lead.owner_id, contact_id, "unchanged")
        before = {k: getattr(lead, k) for k in changed}
        for name, value in changed.items():
            setattr(lead, name, value)
        session.flush()
        fields = changed
        outcome = "updated"

    owner_id, = _ANNOUNCE.execute(session, {
        "lead_id": lead_id, "topic": f"lead.{outcome}", "action": f"capture_{outcome}",
        "payload": json.dumps({
            "lead_id": lead_id, "contact_id": contact_id, "contact_created": contact_created,
            "source": source, "submission_id": submission_id, "form_key": form_key,
            "utm": utm}),
        "before": before and json.dumps(permissions.mask("leads", before), default=str),
        "after": json.dumps(permissions.mask("leads", fields), default=str),
        "request_id": request_id, "ip": ip})
    return CapturedLead(lead_id, owner_id, contact_id, outcome)


# ------------------------------------------------------------------ working leads

_latest_score = (sa.select(LeadScore.score, LeadScore.band, LeadScore.probability,
                           LeadScore.reasons, LeadScore.scored_at)
                 .where(LeadScore.lead_id == Lead.id)
                 .order_by(LeadScore.scored_at.desc(), LeadScore.id.desc())
                 .limit(1).lateral("latest_score"))
#: The next best action: rank 1 of the lead's latest scoring run.
_next_action = (sa.select(NextBestAction.action, NextBestAction.rationale,
                          NextBestAction.confidence)
                .where(NextBestAction.lead_id == Lead.id)
                .order_by(NextBestAction.scored_at.desc(), NextBestAction.rank.asc().nulls_last(),
                          NextBestAction.id)
                .limit(1).lateral("next_action"))

#: Statuses a person may set by hand; the others have their own actions.
OPEN_STATUSES = ("new", "working", "nurturing")
MAX_REASON_LENGTH = 1000

LEADS = Resource(
    name="leads", entity="lead", model=Lead,
    fields={"id": Lead.id, "contact_id": Lead.contact_id,
            "first_name": Contact.first_name, "last_name": Contact.last_name,
            "email": Contact.email, "phone": Contact.phone,
            **columns(Lead, "account_id company title industry employees status lead_source "
                      "campaign_id owner_id utm source source_key first_touch_at qualified_at "
                      "disqualified_reason converted_at converted_deal_id"),
            "score": _latest_score.c.score, "band": _latest_score.c.band,
            "score_probability": _latest_score.c.probability,
            "score_reasons": _latest_score.c.reasons, "scored_at": _latest_score.c.scored_at,
            "next_best_action": _next_action.c.action,
            "next_best_action_reason": _next_action.c.rationale,
            "next_best_action_confidence": _next_action.c.confidence,
            **columns(Lead, "created_at updated_at deleted_at version")},
    writable=names("status owner_id company title industry employees"),
    sorts=("id", "score", "created_at", "updated_at", "first_touch_at", "company"),
    filters={"owner_id": Filter(Lead.owner_id, int, user=True),
             "status": Filter(Lead.status), "band": Filter(_latest_score.c.band),
             "campaign_id": Filter(Lead.campaign_id, int),
             "lead_source": Filter(Lead.lead_source), "source": Filter(Lead.source),
             "created_since": Filter(Lead.created_at, datetime, "gte")},
    campaign="campaign_id",
    joins=lambda q: q.outerjoin(Contact, Contact.id == Lead.contact_id)
                     .outerjoin(_latest_score, sa.true())
                     .outerjoin(_next_action, sa.true()))


def update_lead(session: Session, actor: Actor, lead_id: int, values: dict[str, Any],
                version: int | None) -> Lead:
    if "status" in values and values["status"] not in OPEN_STATUSES:
        raise InvalidInput(f"status can be set to {', '.join(OPEN_STATUSES)}; use qualify, "
                           "disqualify or convert for the others.", field="status",
                           code="invalid_transition")
    return records.update(session, actor, LEADS, lead_id, values, version)


def _open_lead(session: Session, actor: Actor, lead_id: int, version: int | None) -> Lead:
    lead = records.load_for_write(session, actor, LEADS, lead_id, version=version)
    if lead.status in ("converted", "disqualified"):
        raise Conflict(f"The lead is {lead.status}; it cannot change status any more.",
                       code="invalid_transition")
    return lead


def qualify(session: Session, actor: Actor, lead_id: int, version: int | None = None,
            reason: str | None = None) -> Lead:
    """`reason` (optional, e.g. "set in HubSpot") goes with the outbox event."""
    lead = _open_lead(session, actor, lead_id, version)
    if lead.status == "qualified":
        return lead
    reason = _clean(reason, MAX_REASON_LENGTH)
    return records.change(session, actor, LEADS, lead, {}, check=False, action="qualify",
                          topic="lead.qualified", payload={"reason": reason} if reason else None,
                          extra={"status": "qualified", "qualified_at": sa.func.now()})


def disqualify(session: Session, actor: Actor, lead_id: int, reason: str,
               version: int | None = None) -> Lead:
    reason = _clean(reason, MAX_REASON_LENGTH)
    if not reason or "\x00" in reason:
        raise InvalidInput("Say why the lead is disqualified (reason, no NUL characters).",
                           field="reason", code="reason_required")
    lead = _open_lead(session, actor, lead_id, version)
    return records.change(session, actor, LEADS, lead, {}, check=False, action="disqualify",
                          topic="lead.disqualified", payload={"reason": reason},
                          extra={"status": "disqualified", "disqualified_reason": reason})


def set_status(session: Session, actor: Actor, lead_id: int, status: str, reason: str
               ) -> Lead:
    """Bring the lead to `status` as another system of record says (the CRM write-back's
    conflict rules), by the same rules as a person: qualify, disqualify (with `reason`)
    or an open status; a converted or disqualified lead stays so, and `converted` is only
    reached by converting the lead here (Conflict)."""
    if status == "qualified":
        return qualify(session, actor, lead_id, reason=reason)
    if status == "disqualified":
        return disqualify(session, actor, lead_id, reason)
    if status not in OPEN_STATUSES:
        raise InvalidInput(f"{status!r} is not a status a lead can be set to; one of "
                           f"{', '.join((*OPEN_STATUSES, 'qualified', 'disqualified'))} "
                           "(converted: convert the lead).", field="status",
                           code="invalid_transition")
    lead = _open_lead(session, actor, lead_id, None)
    return records.change(session, actor, LEADS, lead, {"status": status},
                          payload={"reason": _clean(reason, MAX_REASON_LENGTH)})


def convert(session: Session, actor: Actor, lead_id: int, *, deal_name: str | None = None,
            amount: Any = None, expected_close_date: Any = None,
            version: int | None = None) -> tuple[Lead, Deal]:
    """Turn a lead into a deal on its contact (and the account of its company, found by
    name or created): the contact becomes an opportunity (owned by the lead's owner if it
    had none), the lead `converted`. The lead's own contact and account need no further
    permission: converting the lead is the permission."""
    lead = _open_lead(session, actor, lead_id, version)
    contact = session.get(Contact, lead.contact_id) if lead.contact_id else None
    if contact is None or contact.deleted_at is not None:
        raise Conflict("The lead has no contact to convert.", code="lead_without_contact")
    account_id = lead.account_id or contact.account_id
    owner_id = lead.owner_id or actor.id
    if account_id is None and lead.company:
        account_id = session.scalar(sa.select(Account.id).where(
            sa.func.lower(Account.name) == lead.company.lower(), Account.deleted_at.is_(None))
            .order_by(Account.id).limit(1))
        if account_id is None:
            account_id = records.create(session, actor, ACCOUNTS,
                                        {"name": lead.company, "owner_id": owner_id}).id
    name = _clean(deal_name, 300) or " - ".join(
        p for p in (lead.company, _clean(f"{contact.first_name or ''} "
                                         f"{contact.last_name or ''}")) if p) or f"Lead {lead.id}"
    deal = deals.create_deal(session, actor, {
        "name": name, "owner_id": owner_id, "amount": amount,
        "expected_close_date": expected_close_date},
        extra={"account_id": account_id, "contact_id": contact.id, "lead_id": lead.id,
               "lead_source": lead.lead_source, "campaign_id": lead.campaign_id})
    records.change(session, actor, CONTACTS, contact, {}, check=False, extra={
        "lifecycle_stage": "opportunity", "account_id": contact.account_id or account_id,
        "owner_id": contact.owner_id or owner_id})
    records.change(session, actor, LEADS, lead, {}, check=False, action="convert",
                   topic="lead.converted", payload={"deal_id": deal.id},
                   extra={"status": "converted", "converted_at": sa.func.now(),
                          "converted_deal_id": deal.id, "account_id": account_id})
    return lead, deal
