"""Notes on contacts and accounts.

Whoever may read the record reads its notes; whoever may change the record adds notes. A
private note's body is a sensitive field: only the roles in
`permissions.PRIVATE_NOTE_READERS` and the note's author see it, everyone else gets null
and `body` in `hidden_fields`. A note is removed (soft delete) by its author or by whoever
may delete the record. Every change is audited (private bodies masked) with its event.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import audit, records
from salesops.domain.audit import Actor
from salesops.domain.contacts import ACCOUNTS, CONTACTS
from salesops.domain.errors import InvalidInput, NotFound
from salesops.domain.records import Resource
from salesops.models import Note
from salesops.security import permissions

#: The records notes (and attachments) hang on, by their resource name.
PARENTS: dict[str, Resource] = {"contacts": CONTACTS, "accounts": ACCOUNTS}
MAX_BODY = 20_000
PAGE = 50


def parent_column(model: type, parent: str) -> sa.Column:
    """The column of `model` pointing at a record of `parent` (e.g. notes.contact_id)."""
    return getattr(model, f"{PARENTS[parent].entity}_id")


def parent_of(obj: Any) -> tuple[str, int]:
    """The resource name and id of the contact or account a note or attachment hangs on."""
    for name, res in PARENTS.items():
        if (record_id := getattr(obj, f"{res.entity}_id", None)) is not None:
            return name, record_id
    raise NotFound("It belongs to a lead or deal, not to a contact or account.")


def _body_hidden(actor: Actor, note: Note) -> bool:
    return (note.is_private and note.author_id != actor.id
            and actor.role not in permissions.PRIVATE_NOTE_READERS)


def public(actor: Actor, note: Note) -> dict[str, Any]:
    hidden = _body_hidden(actor, note)
    return {"id": note.id, "contact_id": note.contact_id, "account_id": note.account_id,
            "author_id": note.author_id, "body": None if hidden else note.body,
            "is_private": note.is_private, "created_at": note.created_at,
            "updated_at": note.updated_at, "hidden_fields": ["body"] if hidden else []}


def _audited(note: Note) -> dict[str, Any]:
    values = audit.snapshot(note)
    if note.is_private:
        values["body"] = permissions.MASK
    return values


def list_notes(session: Session, actor: Actor, parent: str, parent_id: int, *,
               cursor: int | None = None, limit: int = PAGE) -> tuple[list[dict], int | None]:
    """The record's notes, newest first, a page at a time (cursor: the last id seen)."""
    records.get(session, actor, PARENTS[parent], parent_id)
    query = (sa.select(Note).where(parent_column(Note, parent) == parent_id,
                                   Note.deleted_at.is_(None))
             .order_by(Note.id.desc()).limit(limit + 1))
    if cursor is not None:
        query = query.where(Note.id < cursor)
    notes = list(session.scalars(query))
    next_cursor = notes[limit - 1].id if len(notes) > limit else None
    return [public(actor, n) for n in notes[:limit]], next_cursor


def create_note(session: Session, actor: Actor, parent: str, parent_id: int, body: str,
                is_private: bool = False) -> dict[str, Any]:
    body = (body or "").strip()
    if not body or len(body) > MAX_BODY or "\x00" in body:
        raise InvalidInput(f"A note needs 1 to {MAX_BODY} characters of text (no NUL).",
                           field="body")
    records.load_for_write(session, actor, PARENTS[parent], parent_id)
    note = Note(author_id=actor.id, body=body, is_private=is_private,
                **{f"{PARENTS[parent].entity}_id": parent_id})
    session.add(note)
    session.flush()
    audit.write(session, actor, "notes", note.id, "create", "note.created", None,
                _audited(note), {parent: parent_id})
    return public(actor, note)


def delete_note(session: Session, actor: Actor, note_id: int) -> None:
    """Soft delete: by the author (who may still change the record) or whoever may delete
    the record."""
    note = session.scalar(sa.select(Note).where(Note.id == note_id, Note.deleted_at.is_(None))
                          .with_for_update())
    if note is None:
        raise NotFound(f"No note {note_id} (or you may not see it).")
    parent, parent_id = parent_of(note)
    records.get(session, actor, PARENTS[parent], parent_id)  # NotFound when out of scope
    action = "update" if note.author_id == actor.id else "delete"
    records.load_for_write(session, actor, PARENTS[parent], parent_id, action=action)
    before = _audited(note)
    note.deleted_at = sa.func.now()
    session.flush()
    session.refresh(note)
    audit.write(session, actor, "notes", note.id, "delete", "note.deleted", before,
                _audited(note), {parent: parent_id})
