"""Accounts and contacts: the records, typo-tolerant search and duplicate warnings.

Search and duplicate checks use pg_trgm's similarity on the full name, so "Jon Smiht" finds
John Smith: the names nearest the query are read from `ContactName` (distinct names, their
GiST trigram index, nearest first) and the people with them through the btree on the same
expression; a permission filter then applies to a bounded set of the nearest people
(`records.list_records`). A
contact's email is matched by `app.normalize_email`, the one contact-matching rule: an
address that already belongs to a live contact is a conflict, a similar name or the same
phone is a warning.
Phones are sealed, so they are found by their blind index (an equality, indexed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import records
from salesops.domain.audit import Actor
from salesops.domain.errors import Conflict, InvalidInput
from salesops.domain.records import Filter, Resource, columns, names
from salesops.models import Account, Contact, ContactName
from salesops.security import permissions
from salesops.security.sealed import phone_index

SEARCH_SIMILARITY = 0.25  # pg_trgm: how similar a name must be to be found...
SEARCH_WORD_SIMILARITY = 0.5  # ...or how well the query matches a part of it
DUPLICATE_THRESHOLD = 0.5  # how similar to be flagged as a possible duplicate
MAX_DUPLICATES = 5


def _text(sql: str) -> Any:
    return sa.literal_column(sql, sa.Text)


#: `crm.FULL_NAME` on Contact's columns, its constants literal SQL so PostgreSQL matches it
#: to `ix_contacts_name` (bound parameters for '' and ' ' would not match it).
CONTACT_NAME = (sa.func.coalesce(Contact.first_name, _text("''"), type_=sa.Text)
                .concat(_text("' '"))
                .concat(sa.func.coalesce(Contact.last_name, _text("''"), type_=sa.Text)))


def _trigram(session: Session) -> None:
    """This transaction's pg_trgm thresholds, for the `%` and `%>` operators."""
    session.execute(sa.text(
        "select set_config('pg_trgm.similarity_threshold', :s, true), "
        "set_config('pg_trgm.word_similarity_threshold', :w, true)"),
        {"s": str(SEARCH_SIMILARITY), "w": str(SEARCH_WORD_SIMILARITY)})


def _similar(column: Any, q: str) -> tuple[Any, Any]:
    # `column %> q` is `q <% column` (q matches a part of it), written so the index serves
    match = sa.or_(column.op("%")(q), column.op("%>")(q))
    return match, sa.func.greatest(sa.func.similarity(column, q),
                                   sa.func.word_similarity(q, column))


_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{5,}(?:\s*(?:ext\.?|x)\s*\d+)?$", re.IGNORECASE)


def _contact_search(q: str, role: str) -> tuple[Any, Any]:
    """An address (with @) by the prefix of its matching key, for roles that may see
    emails; a phone number by its blind index, for roles that may see phones; otherwise
    names, typo tolerant. Either way one index answers."""
    if _PHONE_LIKE.match(q) and (index := phone_index(q)):
        if "phone" in permissions.hidden_fields(role, "contacts"):
            return sa.false(), sa.literal(1.0)
        return Contact.phone_index == index, sa.literal(1.0)
    if "@" in q:
        if "email" in permissions.hidden_fields(role, "contacts"):
            return sa.false(), sa.literal(1.0)
        key = q.lower().strip()
        return sa.and_(Contact.email_normalized >= key,
                       Contact.email_normalized < key + "\U0010ffff"), sa.literal(1.0)
    return _nearest(q)


def _nearest(q: str) -> tuple[Any, Any, Any]:
    """People whose name is similar to `q` (pg_trgm `%`), nearest first: the relevance is
    the similarity and `<->` (1 - similarity) the same order in the form a GiST trigram
    index reads k-nearest. The names are matched in ContactName and the people found by
    name: a k-nearest scan over every person's name read most of a million-row index
    before its first row."""
    distance = ContactName.name.op("<->", return_type=sa.Float)(q)
    match = sa.and_(ContactName.name == CONTACT_NAME, ContactName.name.op("%")(q))
    return match, 1 - distance, distance


def forget_unused_names(session: Session, full_names: Collection[str]) -> None:
    """Remove those of `full_names` no contact has any more (after a GDPR erase: the
    dictionary must not keep a person's name once they are erased)."""
    session.execute(sa.delete(ContactName).where(
        ContactName.name.in_(full_names),
        ~sa.exists().where(ContactName.name == CONTACT_NAME)))


def _account_search(q: str, role: str) -> tuple[Any, Any]:
    match, score = _similar(Account.name, q)
    return sa.or_(match, Account.domain.ilike(_prefix(q))), score


def _prefix(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


ACCOUNTS = Resource(
    name="accounts", entity="account", model=Account,
    fields=columns(Account, "id name domain industry segment employees annual_revenue country "
                   "city owner_id is_customer created_at updated_at deleted_at version"),
    writable=names("name domain industry segment employees annual_revenue country city "
                    "owner_id is_customer"),
    sorts=("id", "name", "created_at", "updated_at", "annual_revenue", "employees"),
    filters={"owner_id": Filter(Account.owner_id, int, user=True),
             "industry": Filter(Account.industry), "country": Filter(Account.country),
             "is_customer": Filter(Account.is_customer, bool),
             "updated_since": Filter(Account.updated_at, dt.datetime,
                                     "gte")},
    search=_account_search, prepare_search=_trigram)

CONTACTS = Resource(
    name="contacts", entity="contact", model=Contact,
    fields=columns(Contact, "id account_id first_name last_name email phone title "
                   "lifecycle_stage owner_id source marketing_consent email_opt_out "
                   "created_at updated_at deleted_at version"),
    writable=names("account_id first_name last_name email phone title lifecycle_stage "
                    "owner_id email_opt_out"),
    sorts=("id", "last_name", "first_name", "created_at", "updated_at"),
    filters={"owner_id": Filter(Contact.owner_id, int, user=True),
             "account_id": Filter(Contact.account_id, int),
             "lifecycle_stage": Filter(Contact.lifecycle_stage),
             "updated_since": Filter(Contact.updated_at, dt.datetime,
                                     "gte")},
    references={"account_id": ACCOUNTS},
    live=Contact.merged_into_id.is_(None),
    search=_contact_search, prepare_search=_trigram)


def _email(session: Session, values: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The values with the email trimmed, and its normalised form (the matching key)."""
    email = (values["email"] or "").strip() or None
    normalized = None
    if email is not None:
        normalized = session.scalar(sa.select(sa.func.app.normalize_email(email)))
        if normalized is None:
            raise InvalidInput(f"{email!r} is not a valid email address.", field="email",
                               code="invalid_email")
    return {**values, "email": email}, normalized


def _live_email_owner(session: Session, normalized: str, other_than: int | None) -> int | None:
    return session.scalar(sa.select(Contact.id).where(
        Contact.email_normalized == normalized, Contact.deleted_at.is_(None),
        Contact.merged_into_id.is_(None), Contact.id != (other_than or 0)))


def _with_email(session: Session, values: dict[str, Any], contact_id: int | None
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    if "email" not in values:
        return values, {}
    values, normalized = _email(session, values)
    if normalized and (existing := _live_email_owner(session, normalized, contact_id)):
        raise Conflict("A contact with this email address already exists.",
                       code="duplicate_contact", details={"existing_id": existing})
    return values, {"email_normalized": normalized}


def _same_phone(session: Session, actor: Actor, phone: str | None, exclude: int | None
                ) -> list[dict]:
    if not phone or phone_index(phone) is None or "phone" in permissions.hidden_fields(
            actor.role, "contacts"):
        return []
    page = records.list_records(session, actor, CONTACTS, q=phone, limit=MAX_DUPLICATES + 1)
    return [{"contact_id": row["id"], "name": f"{row['first_name'] or ''} "
             f"{row['last_name'] or ''}".strip(), "similarity": 1.0}
            for row in page.items if row["id"] != exclude]


def possible_duplicates(session: Session, actor: Actor, first_name: str | None,
                        last_name: str | None, exclude: int | None = None,
                        phone: str | None = None) -> list[dict]:
    """Visible live contacts with the same phone, then those whose name is close to this
    one, most similar first."""
    same_phone = _same_phone(session, actor, phone, exclude)
    seen = {d["contact_id"] for d in same_phone}
    return (same_phone + [d for d in _similar_names(session, actor, first_name, last_name,
                                                    exclude) if d["contact_id"] not in seen]
            )[:MAX_DUPLICATES]


def _similar_names(session: Session, actor: Actor, first_name: str | None,
                   last_name: str | None, exclude: int | None) -> list[dict]:
    name = f"{first_name or ''} {last_name or ''}".strip()
    if not name:
        return []
    similarity = sa.func.similarity(CONTACT_NAME, name)
    page = records.list_records(session, actor, CONTACTS, q=name, limit=MAX_DUPLICATES * 2)
    found = [{"contact_id": row["id"], "name": f"{row['first_name'] or ''} "
              f"{row['last_name'] or ''}".strip()} for row in page.items
             if row["id"] != exclude]
    if not found:
        return []
    scores = dict(session.execute(sa.select(Contact.id, similarity).where(
        Contact.id.in_([f["contact_id"] for f in found]))).all())
    return [{**f, "similarity": round(float(scores[f["contact_id"]]), 3)} for f in found
            if scores[f["contact_id"]] >= DUPLICATE_THRESHOLD][:MAX_DUPLICATES]


def create_contact(session: Session, actor: Actor, values: dict[str, Any]
                   ) -> tuple[Contact, list[dict]]:
    """A new contact and the visible contacts it may duplicate (a warning, not an error)."""
    values, extra = _with_email(session, values, None)
    if not any(values.get(k) for k in ("first_name", "last_name", "email")):
        raise InvalidInput("A contact needs a name or an email address.", field="last_name")
    duplicates = possible_duplicates(session, actor, values.get("first_name"),
                                     values.get("last_name"), phone=values.get("phone"))
    contact = records.create(session, actor, CONTACTS, values, extra={**extra, "source": "api"})
    return contact, duplicates


def update_contact(session: Session, actor: Actor, contact_id: int, values: dict[str, Any],
                   version: int | None) -> Contact:
    contact = records.load_for_write(session, actor, CONTACTS, contact_id,
                                     version=records.require_version(version))
    values, extra = _with_email(session, values, contact_id)
    return records.change(session, actor, CONTACTS, contact, values, extra=extra)


def create_account(session: Session, actor: Actor, values: dict[str, Any]
                   ) -> tuple[Account, list[dict]]:
    if not (values.get("name") or "").strip():
        raise InvalidInput("An account needs a name.", field="name")
    similar = records.list_records(session, actor, ACCOUNTS, q=values["name"],
                                   limit=MAX_DUPLICATES)
    score = sa.func.similarity(Account.name, values["name"])
    ids = [row["id"] for row in similar.items]
    scores = dict(session.execute(sa.select(Account.id, score).where(Account.id.in_(ids)))
                  .all()) if ids else {}
    duplicates = [{"account_id": row["id"], "name": row["name"],
                   "similarity": round(float(scores[row["id"]]), 3)}
                  for row in similar.items if scores[row["id"]] >= DUPLICATE_THRESHOLD]
    return records.create(session, actor, ACCOUNTS, values), duplicates
