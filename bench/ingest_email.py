"""Mail ingestion: an N-message mbox (generated: threads, HTML alternatives, quoted
replies, signatures, attachments, Latin-1 and UTF-8 bodies) read by `connectors.mail` and
loaded into `raw.email__messages` by `salesops.loading.load_batch`, against Python's
`mailbox` + `email` parse alone (modern policy, the plain-text or HTML body taken) of the
same file in the same run.

    python -m bench.ingest_email [--scale N] [--repeat R]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import mailbox
import random
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path

import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from bench.ingest_crm import best
from bench.people import FIRST, LAST
from connectors.mail import read_mail
from salesops.db import get_engine
from salesops.loading import load_batch

BODY = ("Thanks for the call today. As discussed, here is the proposal for {company}: "
        "{seats} seats of the {product} plan, billed yearly. Let me know what your team thinks"
        " and whether {day} works for a follow-up.\n")
SIGNATURE = "\n-- \n{name}\nAccount Executive, Example Corp\n+1 555 0100\n"
PDF = base64.encodebytes(b"%PDF-1.4 bench" * 50)
START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Sent:
    """What a reply takes from the message it answers."""

    message_id: str
    references: str
    sender: str
    date: str
    subject: str
    text: str


def _subject(text: str) -> bytes:
    """The header value, a non-ASCII word as an RFC 2047 encoded word."""
    return b" ".join(word.encode() if word.isascii()
                     else b"=?utf-8?b?" + base64.b64encode(word.encode()) + b"?="
                     for word in text.split(" "))


def _text_part(text: str, subtype: str, charset: str) -> bytes:
    return (f'Content-Type: text/{subtype}; charset="{charset}"\n'
            "Content-Transfer-Encoding: quoted-printable\n\n").encode() + binascii.b2a_qp(
        text.encode(charset))


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    sep = f"\n--{boundary}\n".encode()
    return (f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode()
            + sep.lstrip(b"\n") + sep.join(parts) + f"\n--{boundary}--\n".encode())


def _message(pick: random.Random, i: int, parent: _Sent | None) -> tuple[bytes, _Sent]:
    """One message in RFC 5322 bytes, written from templates: building `EmailMessage`
    objects (the modern policy parses every header it is given) made generation take longer
    than the benchmark itself."""
    first, last = pick.choice(FIRST), pick.choice(LAST)
    sender = f"{first} {last} <{first.lower()}.{last.lower()}.{i}@customer{i % 997}.com>"
    date = format_datetime(START + timedelta(minutes=7 * i))
    message_id = f"<{i}.bench@bench.example.com>"
    text = BODY.format(company=f"Customer {i % 997}", seats=pick.randint(5, 500),
                       product=pick.choice(["Growth", "Scale", "Enterprise"]),
                       day=pick.choice(["Monday", "Tuesday", "Thursday"]))
    text += SIGNATURE.format(name=f"{first} {last}")
    headers = [f"From: {sender}", "To: Sam Rep <sam.rep@example.com>", f"Date: {date}",
               f"Message-ID: {message_id}"]
    if parent is not None:
        subject = "Re: " + parent.subject.removeprefix("Re: ")
        references = " ".join(filter(None, [parent.references, parent.message_id]))
        headers += [f"In-Reply-To: {parent.message_id}", f"References: {references}"]
        quoted = "".join(f"> {line}\n" for line in parent.text.splitlines())
        text += f"\nOn {parent.date}, {parent.sender} wrote:\n{quoted}"
    else:
        references = ""
        subject = f"Proposal for Customer {i % 997} ({'Müller' if i % 5 == 0 else i})"
    charset = "latin-1" if i % 7 == 0 else "utf-8"
    plain = text + ("Grüße\n" if charset == "latin-1" else "")
    body = _text_part(plain, "plain", "iso-8859-1" if charset == "latin-1" else "utf-8")
    if i % 3 == 0:
        html = "<html><body><p>" + text.replace("\n", "<br>") + "</p></body></html>\n"
        body = _multipart("alternative", f"==alt{i}==",
                          [body, _text_part(html, "html", "utf-8")])
    if i % 10 == 0:
        pdf = (b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
               b'Content-Disposition: attachment; filename="proposal-%d.pdf"\n\n' % i + PDF)
        body = _multipart("mixed", f"==mixed{i}==", [body, pdf])
    head = "\n".join(headers).encode() + b"\nSubject: " + _subject(subject) + b"\n"
    # mbox: a body line starting "From " would start a new message unless escaped.
    raw = head + b"MIME-Version: 1.0\n" + body.replace(b"\nFrom ", b"\n>From ")
    return raw, _Sent(message_id, references, sender, date, subject, plain)


def write_mbox(path: Path, n: int, seed: int = 1) -> None:
    """`n` messages; a third of them replies to the message before."""
    pick = random.Random(seed)
    parent = None
    with path.open("wb") as out:
        for i in range(n):
            raw, parent = _message(pick, i, parent if pick.random() < 0.33 else None)
            out.write(b"From MAILER-DAEMON Wed Jan  1 00:00:00 2025\n" + raw + b"\n")
            if (i + 1) % 10_000 == 0:
                print(f"  {i + 1:,} messages written", file=sys.stderr)


def ours(engine: sa.Engine, path: Path) -> int:
    """The real path: parse, thread, strip quotes, load each batch."""
    rows = 0
    for batch in read_mail(path):
        rows += load_batch(engine, batch.source, batch.entity, batch.origin, batch.records,
                           batch.rejects).rows_loaded
    return rows


def parse_only(path: Path) -> int:
    """Python's own: every message of the mbox parsed, its body text taken."""
    parser = BytesParser(policy=policy.default)
    box = mailbox.mbox(path, factory=None, create=False)
    count = 0
    for key in box.iterkeys():
        msg = parser.parsebytes(box.get_bytes(key))
        body = msg.get_body(("plain", "html"))
        count += body is not None and bool(body.get_content())
    return count


def run(url: str, path: Path, scale: int, repeat: int) -> dict:
    engine = get_engine(url)

    def reset() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("truncate raw.email__messages, ops.rejected_rows,"
                                 " ops.load_batches cascade"))

    ours_s, rows = best(repeat, reset, lambda: ours(engine, path))
    rss = peak_rss_mb()
    print(f"ours: {rows} messages in {ours_s:.2f} s", file=sys.stderr)
    base_s, base_rows = best(repeat, lambda: None, lambda: parse_only(path))
    print(f"mailbox + email: {base_rows} messages in {base_s:.2f} s", file=sys.stderr)
    engine.dispose()
    value, baseline = rows / ours_s, base_rows / base_s
    return {"bench": "ingest_email", "scale": scale, "value": round(value), "unit": "messages/s",
            "baseline": "mailbox + email parse", "baseline_value": round(baseline),
            "ratio": round(value / baseline, 3), "peak_rss_mb": rss}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_email",
                                     description="mbox into raw vs Python's parse alone.")
    parser.add_argument("--scale", type=int, default=10_000, help="messages (default 10,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-email-") as tmp:
        path = Path(tmp) / "bench.mbox"
        print(f"generating {args.scale:,} messages ...", file=sys.stderr)
        write_mbox(path, args.scale)
        with scratch_database(Path(tmp), "bench_ingest_email") as url:
            result = run(url, path, args.scale, args.repeat)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
