"""GDPR for a contact: export everything held about the person, and erase it.

The person is the contact and every contact merged into it (the same person found
twice). Export gathers, as JSON-ready rows: the contacts (consent fields included), notes,
attachments (metadata), leads, deals, tasks, interactions, campaign memberships and
deliveries, merge lineage, the `ml` rows about their leads and interactions, and the `raw`
rows that came in about them (by their source keys, or mentioning one of their emails).

Erase keeps the business records (deals, leads, interaction counts for the marts) but
not the person: the contacts' personal fields are nulled (the name becomes "Erased", and
a name no other contact has leaves search's dictionary of names, `ContactName`),
notes (on the contacts or their leads, trashed ones too), attachments with their stored
files (removed once the erase commits; `files` in the counts) and the `ml` and `raw`
rows are deleted, interaction texts and
delivery addresses nulled, their archived interactions and deliveries deleted (the
`archive` schema of the data lifecycle), and one audit entry says what was erased and
why. Audit entries written before stay as they were (the audit log is append-only;
sensitive values in it were masked when written).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation import lifecycle
from salesops.domain import attachments, audit
from salesops.domain.audit import Actor
from salesops.domain.contacts import CONTACT_NAME, forget_unused_names
from salesops.domain.errors import InvalidInput, NotFound
from salesops.models import (
    Attachment,
    CampaignDelivery,
    CampaignMember,
    Contact,
    ContactSource,
    Deal,
    Interaction,
    Lead,
    LeadScore,
    NextBestAction,
    Note,
    SentimentAnalysis,
    Task,
)
from salesops.models.raw import RAW_TABLES, record_of
from salesops.security import permissions
from salesops.settings import get_settings

MAX_REASON_LENGTH = 1000
ERASED_NAME = "Erased"
#: raw tables whose source key names a person (matched against the contact's keys)
PERSON_TABLES = (("salesforce", "contact"), ("salesforce", "lead"), ("hubspot", "contacts"),
                 ("mapped", "contacts"), ("mapped", "leads"))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def _person(session: Session, contact_id: int) -> list[Contact]:
    """The contact first, then the contacts merged into it; locked for the change."""
    contacts = list(session.scalars(sa.select(Contact).where(sa.or_(
        Contact.id == contact_id, Contact.merged_into_id == contact_id))
        .order_by(Contact.id != contact_id, Contact.id).with_for_update()))
    if not contacts or contacts[0].id != contact_id:
        raise NotFound(f"No contact {contact_id}.")
    return contacts


def _ids(session: Session, column: Any, condition: Any) -> list[int]:
    return list(session.scalars(sa.select(column).where(condition)))


def _raw_matches(session: Session, contacts: list[Contact]) -> dict[str, Any]:
    """Each raw table's condition for this person's rows (only tables with some)."""
    emails = sorted({c.email.lower() for c in contacts if c.email})
    keys = sorted(set(_ids(session, ContactSource.source_key, ContactSource.contact_id.in_(
        [c.id for c in contacts]))) | {str(c.custom_fields["source_key"]) for c in contacts
                                        if (c.custom_fields or {}).get("source_key")})
    found = {}
    for (source, entity), table in RAW_TABLES.items():
        text = sa.func.lower(sa.cast(record_of(table), sa.Text))
        conditions = [sa.func.strpos(text, e) > 0 for e in emails]
        if keys and (source, entity) in PERSON_TABLES:
            conditions.append(table.c.source_key.in_(keys))
        if conditions and session.scalar(sa.select(sa.exists().where(sa.or_(*conditions)))):
            found[f"raw.{table.name}"] = (table, sa.or_(*conditions))
    return found


def _related(session: Session, contacts: list[Contact]) -> dict[str, tuple[Any, Any]]:
    """Every related table's (model or table, condition) for this person."""
    ids = [c.id for c in contacts]
    leads = _ids(session, Lead.id, Lead.contact_id.in_(ids))
    interactions = _ids(session, Interaction.id, Interaction.contact_id.in_(ids))
    return {
        "notes": (Note, sa.or_(Note.contact_id.in_(ids), Note.lead_id.in_(leads))),
        "attachments": (Attachment, Attachment.contact_id.in_(ids)),
        "leads": (Lead, Lead.id.in_(leads)),
        "deals": (Deal, Deal.contact_id.in_(ids)),
        "tasks": (Task, sa.or_(Task.contact_id.in_(ids), Task.lead_id.in_(leads))),
        "interactions": (Interaction, Interaction.id.in_(interactions)),
        "campaign_members": (CampaignMember, CampaignMember.contact_id.in_(ids)),
        "campaign_deliveries": (CampaignDelivery, CampaignDelivery.contact_id.in_(ids)),
        "contact_sources": (ContactSource, ContactSource.contact_id.in_(ids)),
        "ml.lead_scores": (LeadScore, LeadScore.lead_id.in_(leads)),
        "ml.next_best_actions": (NextBestAction, NextBestAction.lead_id.in_(leads)),
        "ml.sentiment_analysis": (SentimentAnalysis,
                                  SentimentAnalysis.interaction_id.in_(interactions)),
        **_raw_matches(session, contacts),
    }


def _rows(session: Session, target: Any, condition: Any) -> list[dict[str, Any]]:
    if isinstance(target, sa.Table):
        columns = [*target.c] if "record" in target.c else [*target.c, record_of(target)
                                                            .label("record")]
        rows = session.execute(sa.select(*columns).where(condition).order_by(target.c.id))
        return [{k: _plain(v) for k, v in r._mapping.items()} for r in rows]
    return [audit.snapshot(o) for o in session.scalars(
        sa.select(target).where(condition).order_by(target.id))]


def _consent(contact: Contact) -> dict[str, Any]:
    return {"contact_id": contact.id, "marketing_consent": contact.marketing_consent,
            "consent_text": contact.consent_text, "consent_at": _plain(contact.consent_at),
            "email_opt_out": contact.email_opt_out}


def export_contact(session: Session, actor: Actor, contact_id: int) -> dict[str, Any]:
    """Everything held about the person, as one JSON-ready document (audited)."""
    permissions.require(actor.principal, "gdpr", "read")
    contacts = _person(session, contact_id)
    document = {"contact_id": contact_id,
                "contacts": [audit.snapshot(c) for c in contacts],
                "consents": [_consent(c) for c in contacts],
                **{name: _rows(session, target, condition)
                   for name, (target, condition) in _related(session, contacts).items()}}
    audit.record(session, actor, "export", "contacts", contact_id, None,
                 {"gdpr_export": {k: len(v) for k, v in document.items()
                                  if isinstance(v, list)}})
    return document


def _delete(session: Session, target: Any, condition: Any) -> int:
    table = target if isinstance(target, sa.Table) else target.__table__
    return session.execute(sa.delete(table).where(condition)).rowcount


def _null(session: Session, model: Any, condition: Any, **values: Any) -> int:
    return session.execute(sa.update(model).where(condition).values(**values)
                           .execution_options(synchronize_session=False)).rowcount


def erase_contact(session: Session, actor: Actor, contact_id: int, reason: str,
                  attachments_root: Path | None = None) -> dict[str, int]:
    """Erase the person (see the module docstring); returns rows changed per table (and
    `files`: attachment files to remove). `attachments_root`: where attachment files are
    stored (default: the settings')."""
    permissions.require(actor.principal, "gdpr", "delete")
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON_LENGTH or "\x00" in reason:
        raise InvalidInput(f"Say why the contact is erased (1 to {MAX_REASON_LENGTH} "
                           "characters).", field="reason")
    contacts = _person(session, contact_id)
    related = _related(session, contacts)
    files = list(session.scalars(sa.select(Attachment.stored_name).where(
        related["attachments"][1])))
    erased: dict[str, int] = {lifecycle.FILES: len(files)}
    attachments.remove_files_after_commit(
        session, attachments_root or get_settings().attachments_path, files)
    for name in ("notes", "attachments", "ml.lead_scores", "ml.next_best_actions",
                 "ml.sentiment_analysis", *(n for n in related if n.startswith("raw."))):
        erased[name] = _delete(session, *related[name])
    erased["interactions"] = _null(session, Interaction, related["interactions"][1],
                                   subject=None, body=None, message_id=None,
                                   in_reply_to=None, thread_id=None)
    erased["campaign_deliveries"] = _null(session, CampaignDelivery,
                                          related["campaign_deliveries"][1], email=None)
    erased["tasks"] = _null(session, Task, related["tasks"][1], description=None)
    erased.update(lifecycle.erase_archived(session.connection(), [c.id for c in contacts]))
    erased["leads"] = _null(session, Lead, related["leads"][1], title=None)
    names = session.scalars(sa.select(CONTACT_NAME).where(
        Contact.id.in_([c.id for c in contacts]))).all()
    for contact in contacts:
        contact.first_name, contact.last_name = None, ERASED_NAME
        contact.email = contact.email_normalized = contact.phone = contact.title = None
        contact.marketing_consent, contact.consent_text, contact.consent_at = False, None, None
        contact.email_opt_out, contact.custom_fields = True, {}
        contact.deleted_at = contact.deleted_at or sa.func.now()
    session.flush()
    forget_unused_names(session, names)  # nor is the name left for search to read
    erased["contacts"] = len(contacts)
    erased = {k: v for k, v in erased.items() if v}
    audit.write(session, actor, "contacts", contact_id, "erase", "contact.erased", None,
                {"gdpr_erase": erased, "reason": reason}, {"erased": erased})
    return erased
