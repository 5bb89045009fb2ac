"""Files attached to contacts and accounts, stored under the data folder.

- Limits: at most `Policy.max_bytes` per file and only the media types in
  `Policy.types` (settings `attachment_max_bytes`, `attachment_types`). A declared type of
  `application/octet-stream` (or none) is read from the file name's extension.
- Safe stored names: the file on disk is named by a random id (`<root>/<ab>/<id>`), never by
  anything the user sent; the user's file name is kept, cleaned (no folders, no control or
  invisible characters), only to name the download.
- Permissions follow the record: who may read the record lists and downloads its files,
  who may change it uploads; removing one needs the same as removing a note.
- Uploads are written to `<id>.part` and renamed once the row exists; a failed upload
  leaves no file. Every upload, removal and download is audited.
- Removing a file from the UI is a soft delete (the file stays while the row is in the
  trash); the file goes when its row does: purged by the data lifecycle (directly or with
  its contact, account or deal) or deleted by a GDPR erase, once that transaction commits
  (`remove_files`, `remove_files_after_commit`). A file already missing is not an error.
"""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import audit, records
from salesops.domain.audit import Actor
from salesops.domain.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from salesops.domain.notes import PARENTS, parent_column, parent_of
from salesops.models import Attachment

MAX_FILENAME = 200
_PENDING = "salesops.attachment_files_to_remove"


def stored_path(root: Path, stored_name: str) -> Path:
    """Where the file of an attachment row lives under the storage root."""
    return root / stored_name[:2] / stored_name


def remove_files(root: Path, stored_names: Iterable[str]) -> int:
    """Remove stored files (call after their rows' deletion committed); a file already
    gone is not an error. How many were there to remove."""
    removed = 0
    for name in stored_names:
        path = stored_path(root, name)
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _remove_pending(session: Session) -> None:
    for root, names in session.info.pop(_PENDING, []):
        remove_files(root, names)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def remove_files_after_commit(session: Session, root: Path, stored_names: Iterable[str]
                              ) -> None:
    """Remove these files when the session's transaction commits; never if it rolls back
    (the rows, and so their files, are still there)."""
    if not sa.event.contains(session, "after_commit", _remove_pending):
        sa.event.listen(session, "after_commit", _remove_pending)
        sa.event.listen(session, "after_rollback", _forget_pending)
    session.info.setdefault(_PENDING, []).append((root, list(stored_names)))


@dataclass(frozen=True)
class Policy:
    root: Path  # where files are stored
    max_bytes: int
    types: frozenset[str]


def safe_filename(name: str | None) -> str:
    """The last path component of `name`, without control, format (zero-width, bidi
    override) or path characters; "file" when nothing is left."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    return name[:MAX_FILENAME].strip(" .") or "file"


def media_type(declared: str | None, filename: str, policy: Policy) -> str:
    """The upload's media type, which must be one the policy accepts."""
    kind = (declared or "").split(";")[0].strip().lower()
    if kind in ("", "application/octet-stream"):
        kind = mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"
    if kind not in policy.types:
        raise UnsupportedMediaType(
            f"Files of type {kind} are not accepted; accepted: {', '.join(sorted(policy.types))}.",
            details={"accepted": sorted(policy.types)})
    return kind


@dataclass
class Incoming:
    """A file being received: written chunk by chunk to a part file, counted and hashed,
    refused as soon as it passes the size limit."""

    policy: Policy
    stored_name: str = field(default_factory=lambda: secrets.token_hex(16))
    size: int = 0
    _hash: Any = field(default_factory=hashlib.sha256)
    _file: Any = None

    @property
    def path(self) -> Path:
        return stored_path(self.policy.root, self.stored_name)

    @property
    def part(self) -> Path:
        return self.path.with_suffix(".part")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.policy.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"The file is larger than {self.policy.max_bytes} bytes.",
                                  details={"max_bytes": self.policy.max_bytes})
        if self._file is None:
            self.part.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.part.open("wb")
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> None:
        if self._file is None:
            self.part.parent.mkdir(parents=True, exist_ok=True)
            self.part.touch()
        else:
            self._file.close()
        self.part.rename(self.path)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        self.part.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def public(row: Attachment) -> dict[str, Any]:
    return {"id": row.id, "contact_id": row.contact_id, "account_id": row.account_id,
            "filename": row.filename, "content_type": row.content_type,
            "size_bytes": row.size_bytes, "sha256": row.sha256, "uploaded_by": row.uploaded_by,
            "created_at": row.created_at}


def check_upload(session: Session, actor: Actor, parent: str, parent_id: int) -> None:
    """May the actor attach files to this record? (Before a byte is received.)"""
    records.load_for_write(session, actor, PARENTS[parent], parent_id)


def add(session: Session, actor: Actor, parent: str, parent_id: int, filename: str,
        content_type: str, incoming: Incoming) -> dict[str, Any]:
    """The attachment row for a fully received file, audited; the file keeps its place."""
    records.load_for_write(session, actor, PARENTS[parent], parent_id)
    row = Attachment(uploaded_by=actor.id, filename=safe_filename(filename),
                     stored_name=incoming.stored_name, content_type=content_type,
                     size_bytes=incoming.size, sha256=incoming.sha256,
                     **{f"{PARENTS[parent].entity}_id": parent_id})
    session.add(row)
    session.flush()
    incoming.finish()
    audit.write(session, actor, "attachments", row.id, "create", "attachment.created", None,
                audit.snapshot(row), {parent: parent_id})
    return public(row)


def list_attachments(session: Session, actor: Actor, parent: str, parent_id: int
                     ) -> list[dict[str, Any]]:
    records.get(session, actor, PARENTS[parent], parent_id)
    rows = session.scalars(sa.select(Attachment).where(
        parent_column(Attachment, parent) == parent_id, Attachment.deleted_at.is_(None))
        .order_by(Attachment.id.desc()))
    return [public(r) for r in rows]


def _visible(session: Session, actor: Actor, attachment_id: int) -> Attachment:
    row = session.scalar(sa.select(Attachment).where(Attachment.id == attachment_id,
                                                     Attachment.deleted_at.is_(None)))
    if row is None:
        raise NotFound(f"No attachment {attachment_id} (or you may not see it).")
    parent, parent_id = parent_of(row)
    try:
        records.get(session, actor, PARENTS[parent], parent_id)
    except NotFound:
        raise NotFound(f"No attachment {attachment_id} (or you may not see it).") from None
    return row


def open_download(session: Session, actor: Actor, attachment_id: int, root: Path
                  ) -> tuple[dict[str, Any], Path]:
    """The attachment and its file, for a reader of its record; the download is audited."""
    row = _visible(session, actor, attachment_id)
    path = stored_path(root, row.stored_name)
    if not path.is_file():
        raise NotFound(f"The file of attachment {attachment_id} is missing from storage; "
                       "ask an admin to restore it from backup.", code="file_missing")
    audit.record(session, actor, "download", "attachments", row.id, None,
                 {"filename": row.filename, "sha256": row.sha256})
    return public(row), path


def delete_attachment(session: Session, actor: Actor, attachment_id: int) -> None:
    """Soft delete (the file stays, for the audit trail): by the uploader who may still
    change the record, or whoever may delete the record."""
    row = _visible(session, actor, attachment_id)
    parent, parent_id = parent_of(row)
    action = "update" if row.uploaded_by == actor.id else "delete"
    records.load_for_write(session, actor, PARENTS[parent], parent_id, action=action)
    before = audit.snapshot(row)
    row.deleted_at = sa.func.now()
    session.flush()
    session.refresh(row)
    audit.write(session, actor, "attachments", row.id, "delete", "attachment.deleted", before,
                audit.snapshot(row), {parent: parent_id})
