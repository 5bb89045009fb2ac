"""Mail: mbox files, Maildir folders and single message files (.eml or raw RFC 822).

Each message becomes one record: ids and thread, addresses, subject, ISO date, a plain-text
body (HTML converted when there is no text part), the reply text without quotes and
signature, and attachment metadata. The source key is the Message-ID, or `sha256:<hex>` of
the raw bytes when it has none. A message that cannot be read becomes a Rejected with the
reason; the others continue.

The thread id is the root Message-ID: the first entry of References (RFC 5322 keeps the
chain there), else In-Reply-To, else the message itself; a parent already read resolves a
reply that only names its parent to the parent's root.
"""

from __future__ import annotations

import codecs
import hashlib
import mailbox
import re
from collections.abc import Iterator
from datetime import UTC
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import cache, lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from mailparser_reply import EmailReplyParser
from mailparser_reply.parser import EmailMessage, EmailReply

from connectors.records import RecordBatch, Rejected, chunked

SOURCE, ENTITY = "email", "messages"
#: Messages carry bodies, so batches are smaller than for CSV rows.
MAIL_CHUNK = 5_000
#: Reply parsing is regex-heavy; past this many characters only the start is examined.
REPLY_SCAN_LIMIT = 20_000
#: Reply-header languages to recognise (each one costs time); the demo markets.
REPLY_LANGUAGES = ["en", "de", "fr", "es"]

# compat32: the modern policy is slower and raises on some malformed headers; headers are
# decoded by `_header` instead.
_PARSER = BytesParser(policy=policy.compat32)
#: A file with none of these is not a message (a licence text, a stray file).
_MESSAGE_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "MIME-Version",
                    "Content-Type", "Received")
_MSGID = re.compile(r"<[^<>\s]+>")
# Adjacent encoded words (RFC 2047) with only whitespace between them decode as one run.
_ENCODED_WORDS = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=(?:\s+=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)*")


class UnreadableMessage(ValueError):
    """The bytes are not an email message at all."""


def read_mail(path: str | Path, chunk_size: int = MAIL_CHUNK) -> Iterator[RecordBatch]:
    """Yield message batches from an mbox, a Maildir, a message file, or a folder of these."""
    path = Path(path)
    roots: dict[str, str] = {}
    yield from chunked(SOURCE, ENTITY, str(path), _records(path, roots), chunk_size)


def _records(path: Path, roots: dict[str, str]) -> Iterator[dict[str, Any] | Rejected]:
    for origin, raw in _raw_messages(path):
        if isinstance(raw, Exception):
            yield Rejected(None, f"{origin}: cannot read: {raw}", {"origin": origin})
        else:
            yield read_message(raw, {"origin": origin}, roots)


def read_message(raw: bytes, where: dict[str, Any],
                 roots: dict[str, str]) -> dict[str, Any] | Rejected:
    """One message as a record, or a Rejected with the reason; `where` (its file, or its
    IMAP folder and UID) goes into a reject, and `roots` resolves threads across messages."""
    try:
        record = parse_message(raw)
    except Exception as exc:  # any parser failure quarantines this message only
        return Rejected(_hash_key(raw), f"{type(exc).__name__}: {exc}",
                        {**where, "size": len(raw),
                         "raw": raw[:65_536].decode("utf-8", "replace")})
    record["thread_id"] = roots.get(record["thread_id"], record["thread_id"])
    if record["message_id"]:
        roots.setdefault(record["message_id"], record["thread_id"])
    return record


def _raw_messages(path: Path) -> Iterator[tuple[str, bytes | Exception]]:
    """(origin, raw bytes) of every message under `path`, in a stable order."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            box = mailbox.Maildir(path, factory=None, create=False)
            yield from _from_box(box, str(path))
            children = [p for p in sorted(path.iterdir()) if p.name not in ("cur", "new", "tmp")]
        else:
            children = sorted(path.iterdir())
        for child in children:
            yield from _raw_messages(child)
    elif path.suffix == ".mbox" or path.name == "mbox":
        yield from _from_box(mailbox.mbox(path, factory=None, create=False), str(path))
    elif path.is_file():
        try:
            yield str(path), path.read_bytes()
        except OSError as exc:
            yield str(path), exc


def _from_box(box: mailbox.Mailbox, origin: str) -> Iterator[tuple[str, bytes | Exception]]:
    for key in sorted(box.iterkeys()):
        try:
            yield f"{origin}#{key}", box.get_bytes(key)
        except (OSError, KeyError, mailbox.Error) as exc:
            yield f"{origin}#{key}", exc


def parse_message(raw: bytes) -> dict[str, Any]:
    """One message as a record (its `thread_id` not yet resolved against other messages)."""
    msg = _PARSER.parsebytes(raw)
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():  # the first of each name, as `msg[name]` takes it
        headers.setdefault(name.lower(), value)
    if not any(name.lower() in headers for name in _MESSAGE_HEADERS):
        raise UnreadableMessage("no message headers (From, To, Subject, Content-Type, ...)")
    message_id = _first_id(_header(headers, "message-id"))
    in_reply_to = _first_id(_header(headers, "in-reply-to"))
    references = _MSGID.findall(_header(headers, "references") or "")
    sender = _addresses(_header(headers, "from"))
    plain, html, attachments = _walk(msg)
    body = plain if plain.strip() else html_to_text(html)
    return {
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
        "thread_id": (references[0] if references else in_reply_to) or message_id,
        "from_address": sender[0][1] if sender else None,
        "from_name": sender[0][0] if sender else None,
        "to": [address for _, address in _addresses(_header(headers, "to"))],
        "cc": [address for _, address in _addresses(_header(headers, "cc"))],
        "subject": _header(headers, "subject"),
        "date": _iso_date(_header(headers, "date")),
        "body_text": body,
        "reply_text": reply_text(body),
        "attachments": attachments,
        "defects": sorted({type(d).__name__ for part in msg.walk() for d in part.defects}),
        "size": len(raw),
        "source_key": message_id or _hash_key(raw),
    }


def reply_text(body: str) -> str:
    """The newest reply only: quoted history, reply headers and signature removed."""
    if not body.strip():
        return ""
    text = _first_reply(body[:REPLY_SCAN_LIMIT]).body
    return "\n".join(line for line in text.splitlines() if not line.startswith(">")).strip()


@cache
def _reply_settings() -> tuple[tuple[str, ...], dict[str, re.Pattern[str]]]:
    """mail-parser-reply's languages and patterns for REPLY_LANGUAGES, built once (it builds
    and looks the patterns up again for every message)."""
    languages = EmailReplyParser(languages=REPLY_LANGUAGES).languages
    proto = EmailMessage(text="", languages=list(languages))
    return tuple(proto.languages), {"_header_regex": proto.HEADER_REGEX,
                                    "_disclaimers_regex": proto.DISCLAIMERS_REGEX,
                                    "_signature_regex": proto.SIGNATURE_REGEX}


def _first_reply(body: str) -> EmailReply:
    """`EmailReplyParser(languages=REPLY_LANGUAGES).read(body).replies[0]`, stopping at the
    first reply instead of splitting the whole quoted history (the same steps as its
    `EmailMessage.read`, one reply header at a time)."""
    languages, patterns = _reply_settings()
    message = EmailMessage(text=body, languages=list(languages), **patterns)
    text = message.text
    current, previous = 0, ""
    for match in message.HEADER_REGEX.finditer(text):
        for header in filter(None, match.groups()):  # `read` takes findall's groups, in order
            position = text.find(header, current + 1 if current > 0 else current)
            content = text[current:position]
            if content.strip():
                return _reply(message, previous, content)
            current, previous = (position if position >= 0 else 0), header
    return _reply(message, previous, text[current:])


def _reply(message: EmailMessage, header: str, content: str) -> EmailReply:
    signature = message.SIGNATURE_REGEX.search(content)
    return EmailReply(headers=header, content=content,
                      signatures=signature.group() if signature else "",
                      disclaimers=message.DISCLAIMERS_REGEX.findall(content))


def html_to_text(html: str) -> str:
    """Visible text of an HTML body, one block element per line."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip()
             for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "pre",
                        "hr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _walk(msg: Message) -> tuple[str, str, list[dict[str, Any]]]:
    """The first text/plain and text/html bodies, and the attachments' metadata."""
    plain = html = ""
    attachments: list[dict[str, Any]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = _filename(part)
        ctype = part.get_content_type()
        if filename or part.get_content_disposition() == "attachment":
            payload = part.get_payload(decode=True)
            attachments.append({"filename": filename, "content_type": ctype,
                                "size": len(payload) if isinstance(payload, bytes) else None})
        elif ctype == "text/plain" and not plain:
            plain = _decode(part)
        elif ctype == "text/html" and not html:
            html = _decode(part)
    return plain, html, attachments


def _decode(part: Message) -> str:
    """A text part's payload in its declared charset; undeclared or unknown: UTF-8, else
    Windows-1252 (what mislabelled mail usually is)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset()
    if charset:
        try:
            return payload.decode(codecs.lookup(charset).name, errors="replace")
        except LookupError:
            pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("cp1252", errors="replace")


def _header(headers: dict[str, str], name: str) -> str | None:
    """A header's value (`name` in lower case) with RFC 2047 words decoded and raw 8-bit text
    repaired."""
    raw = headers.get(name)
    if raw is None:
        return None
    text = _ENCODED_WORDS.sub(_decode_word, _clean(str(raw)))
    return " ".join(text.split()) or None


def _decode_word(match: re.Match[str]) -> str:
    """One run of encoded words; an undecodable one is kept as sent."""
    try:
        return _clean(str(make_header(decode_header(match.group(0)))))
    except (LookupError, UnicodeError, ValueError, AssertionError):
        return match.group(0)


def _clean(text: str) -> str:
    """Undo surrogate escapes left by 8-bit headers (UTF-8, else Windows-1252)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that was never a byte
        return text.encode("utf-8", "replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@lru_cache(maxsize=4096)
def _addresses(value: str | None) -> tuple[tuple[str, str], ...]:
    """(display name, address) pairs; cached, as a mailbox's owners recur in most messages."""
    if not value:
        return ()
    return tuple((display, address) for display, address in getaddresses([value]) if address)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # malformed RFC 2231 parameters
        return None
    return _clean(str(name)) if name else None


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    if found:
        return found.group(0)
    return value if " " not in value else None


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def _hash_key(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()
