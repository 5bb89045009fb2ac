"""IMAP mailboxes (imap-tools): chosen folders, read incrementally by UIDVALIDITY + UID.

A folder's UIDs only grow while its UIDVALIDITY stays the same (RFC 3501 2.3.1.1), so
"every UID above the last one loaded" is exactly what is new. When the server changes the
UIDVALIDITY, every UID is new again and the folder is read from the start (records that
did not change are still not loaded twice: the caller's load skips same key, same hash).

Messages are fetched in chunks with BODY.PEEK[] (nothing is marked read); each chunk is one
`ImapBatch` carrying the cursor to store once it has landed. Records are the mail reader's,
plus `imap` (account, folder, UIDVALIDITY, UID), so a folder can be reconciled against the
server. A connection lost mid-fetch raises `ImapConnectionLost` after the chunks already
yielded: the caller keeps those, and the next run continues after them.
"""

from __future__ import annotations

import imaplib
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError
from imap_tools.mailbox import BaseMailBox
from imap_tools.utils import encode_folder

from connectors.mail import ENTITY, SOURCE, read_message
from connectors.records import RecordBatch, Rejected
from salesops.errors import SalesopsError

#: Messages per fetch and per load: one round trip and one transaction each.
IMAP_CHUNK = 200
_UID = re.compile(rb"\bUID (\d+)")
#: What a dropped or reset connection raises inside imaplib.
_CONNECTION_ERRORS = (imaplib.IMAP4.abort, OSError, EOFError, socket.timeout)


class ImapError(SalesopsError):
    """The server refused something (login, a folder); the message says what to change."""


class ImapConnectionLost(ImapError):
    """The connection dropped; what was yielded before it is complete and can be kept."""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    user: str
    password: str
    port: int = 993
    #: "ssl" (IMAPS, port 993), "starttls" or "plain" (only for a local or test server)
    security: str = "ssl"
    folders: tuple[str, ...] = ("INBOX",)
    timeout: float = 60.0

    @property
    def name(self) -> str:
        """How the account is named in cursors and records: user@host."""
        return f"{self.user}@{self.host}"


@dataclass(frozen=True)
class FolderCursor:
    """Where a folder was left: its UIDVALIDITY and the highest UID loaded."""

    uidvalidity: int
    last_uid: int

    def to_json(self) -> dict[str, int]:
        return {"uidvalidity": self.uidvalidity, "last_uid": self.last_uid}

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> FolderCursor | None:
        if not value:
            return None
        return cls(int(value["uidvalidity"]), int(value["last_uid"]))


@dataclass(frozen=True)
class FolderListing:
    """A folder as the server has it now."""

    folder: str
    uidvalidity: int
    uids: tuple[int, ...]


@dataclass
class ImapBatch(RecordBatch):
    folder: str = ""
    #: The folder's cursor once this batch has landed.
    folder_cursor: FolderCursor | None = None
    uids: list[int] = field(default_factory=list)


def connect(account: ImapAccount) -> BaseMailBox:
    """A logged-in mailbox; a wrong host or password is an ImapError saying which."""
    kinds = {"ssl": MailBox, "starttls": MailBoxStartTls, "plain": MailBoxUnencrypted}
    if account.security not in kinds:
        raise ImapError(f"unknown IMAP security {account.security!r}: use ssl, starttls or plain")
    try:
        box = kinds[account.security](account.host, account.port, timeout=account.timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"cannot reach IMAP server {account.host}:{account.port} ({exc}); "
                        "check the host, port and security setting") from exc
    try:
        box.login(account.user, account.password)
    except MailboxLoginError as exc:
        raise ImapError(f"IMAP login as {account.user} on {account.host} failed; "
                        "check the user and password") from exc
    return box


def list_folder(box: BaseMailBox, folder: str, since: date | None = None) -> FolderListing:
    """Select `folder` read-only; its UIDVALIDITY and UIDs (those since `since`, if given)."""
    try:
        typ, _ = box.client.select(encode_folder(folder), readonly=True)
    except _CONNECTION_ERRORS as exc:
        raise ImapConnectionLost(f"IMAP connection lost selecting {folder!r}: {exc}; "
                                 "run the ingest again") from exc
    if typ != "OK":
        names = ", ".join(f.name for f in box.folder.list()) or "none"
        raise ImapError(f"no IMAP folder {folder!r} (folders: {names})")
    validity = int(box.client.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
    criteria = f"SINCE {since.strftime('%d-%b-%Y')}" if since else "ALL"
    try:
        typ, data = box.client.uid("SEARCH", criteria)
    except _CONNECTION_ERRORS as exc:
        raise ImapConnectionLost(f"IMAP connection lost listing {folder!r}: {exc}; "
                                 "run the ingest again") from exc
    uids = sorted(int(u) for u in b" ".join(d for d in data if d).split()) if typ == "OK" else []
    return FolderListing(folder, validity, tuple(uids))


def read_folder(box: BaseMailBox, account: str, listing: FolderListing,
                cursor: FolderCursor | None, chunk_size: int = IMAP_CHUNK,
                ) -> Iterator[ImapBatch]:
    """Batches of the messages in `listing` above the cursor (all of them when the cursor
    is from another UIDVALIDITY). The folder must be selected (`list_folder`)."""
    start = cursor.last_uid if cursor and cursor.uidvalidity == listing.uidvalidity else 0
    todo = [uid for uid in listing.uids if uid > start]
    roots: dict[str, str] = {}
    origin = f"imap://{account}/{listing.folder}"
    for i in range(0, len(todo), chunk_size):
        chunk = todo[i:i + chunk_size]
        fetched = _fetch(box, listing.folder, chunk, start)
        batch = ImapBatch(SOURCE, ENTITY, origin, folder=listing.folder,
                          folder_cursor=FolderCursor(listing.uidvalidity, chunk[-1]),
                          uids=chunk)
        for uid in chunk:
            raw = fetched.get(uid)
            if raw is None:  # expunged between the listing and the fetch
                continue
            where = {"imap": {"account": account, "folder": listing.folder,
                              "uidvalidity": listing.uidvalidity, "uid": uid}}
            item = read_message(raw, where, roots)
            if isinstance(item, Rejected):
                batch.rejects.append(item)
            else:
                batch.records.append({**item, **where})
        yield batch
        start = chunk[-1]


def _fetch(box: BaseMailBox, folder: str, uids: Sequence[int], after: int) -> dict[int, bytes]:
    try:
        typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    except _CONNECTION_ERRORS as exc:
        raise ImapConnectionLost(
            f"IMAP connection lost while fetching {folder!r} after UID {after} ({exc}); what "
            "was loaded is kept: run the ingest again to continue from there") from exc
    if typ != "OK":
        raise ImapError(f"IMAP server refused to fetch from {folder!r}: {data!r}")
    messages: dict[int, bytes] = {}
    for item in data:
        if isinstance(item, tuple) and (found := _UID.search(item[0])):
            messages[int(found.group(1))] = item[1]
    return messages

