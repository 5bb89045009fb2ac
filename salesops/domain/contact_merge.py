"""Merging duplicate contacts into one survivor, in the caller's transaction.

Every related record (the tables of `salesops.merge.CONTACT_CHILDREN`: notes, attachments,
leads, tasks, deals, interactions) moves to the survivor, and so does the lineage
(`app.contact_sources`, marked `manual_merge`), the same map the ingestion merge follows
for HubSpot merges. The survivor's blank fields are filled from the duplicates, in the
order given. Each duplicate is soft-deleted pointing at the survivor (`merged_into_id`),
so a later load of one of its source records still finds the survivor. Audited on every
contact involved, with one outbox event each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import audit, records
from salesops.domain.audit import Actor
from salesops.domain.contacts import CONTACTS
from salesops.domain.errors import Conflict, InvalidInput, StaleVersion
from salesops.merge import CONTACT_CHILDREN

MAX_DUPLICATES = 50
#: The survivor's fields a duplicate's value fills when the survivor has none.
FILLED = ("first_name", "last_name", "email", "email_normalized", "phone", "title",
          "account_id", "owner_id")


def merge_contacts(session: Session, actor: Actor, survivor_id: int,
                   duplicate_ids: Sequence[int], version: int | None = None
                   ) -> dict[str, Any]:
    """Merge the duplicates into the survivor; what moved, per table."""
    duplicates = list(dict.fromkeys(duplicate_ids))
    if not 1 <= len(duplicates) <= MAX_DUPLICATES:
        raise InvalidInput(f"Name 1 to {MAX_DUPLICATES} duplicates to merge.",
                           field="duplicate_ids")
    if survivor_id in duplicates:
        raise InvalidInput("A contact cannot be merged into itself.", field="duplicate_ids")
    # lock in id order, so two merges of overlapping contacts cannot deadlock
    locked = {}
    for contact_id in sorted([survivor_id, *duplicates]):
        action = "update" if contact_id == survivor_id else "delete"
        locked[contact_id] = records.load_for_write(session, actor, CONTACTS, contact_id,
                                                    action=action)
    survivor = locked[survivor_id]
    if version is not None and survivor.version != version:
        raise StaleVersion(f"The contact is at version {survivor.version}, not {version}: "
                           "someone else changed it. Reload it and try again.",
                           details={"current_version": survivor.version})
    if merged := [c.id for c in locked.values() if c.merged_into_id is not None]:
        raise Conflict(f"Contacts {merged} were already merged into another.",
                       code="already_merged")

    moved: dict[str, int] = {}
    for table in (*CONTACT_CHILDREN, "contact_sources"):
        extra = ", match_rule = 'manual_merge'" if table == "contact_sources" else ""
        moved[table] = session.execute(sa.text(
            f"update app.{table} set contact_id = :survivor{extra} "
            "where contact_id = any(:duplicates)"),
            {"survivor": survivor_id, "duplicates": duplicates}).rowcount

    fills: dict[str, Any] = {}
    for contact_id in duplicates:
        duplicate = locked[contact_id]
        for name in FILLED:
            if getattr(survivor, name) is None and name not in fills \
                    and getattr(duplicate, name) is not None:
                fills[name] = getattr(duplicate, name)
        records.change(session, actor, CONTACTS, duplicate,
                       {"merged_into_id": survivor_id, "deleted_at": sa.func.now()},
                       action="merge", topic="contact.merged_away", check=False,
                       payload={"survivor_id": survivor_id})
    before = audit.snapshot(survivor)
    for name, value in fills.items():
        setattr(survivor, name, value)
    session.flush()
    after = audit.snapshot(survivor)
    audit.write(session, actor, "contacts", survivor_id, "merge", "contact.merged",
                {**before, "merged_ids": []}, {**after, "merged_ids": duplicates},
                {"merged_ids": duplicates, "moved": moved})
    return {"merged_ids": duplicates, "moved": moved}


def restore_contact(session: Session, actor: Actor, contact_id: int) -> Any:
    """Restore from the trash, except a merged duplicate: its records live on in the
    survivor, so bringing it back would make the duplicate again."""
    contact = records.load_for_write(session, actor, CONTACTS, contact_id, action="delete",
                                     deleted=True)
    if contact.merged_into_id is not None:
        raise Conflict(f"Contact {contact_id} was merged into {contact.merged_into_id}; "
                       "open that one instead.", code="merged_contact",
                       details={"survivor_id": contact.merged_into_id})
    return records.restore(session, actor, CONTACTS, contact_id)
