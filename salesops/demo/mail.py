"""Threaded sales conversations between reps and people, as mbox and Maildir.

About one message per two people, at most MAX_MESSAGES in all. Reply wording is positive,
neutral or negative, drawn from the person's latent propensity, so sentiment is learnable
and predictive. Formats vary as real mail does: plain, multipart/alternative, HTML only,
attachments, legacy charsets, and a few broken messages (bad base64, missing headers, a
truncated MIME boundary). Messages are built with the stdlib `email` package; the files
are written through `mailbox`, except Maildir names, which are derived from the message so
the same seed gives the same files.
"""

from __future__ import annotations

import binascii
import html
import mailbox
import math
import os
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr
from typing import Any

import numpy as np

from salesops.demo import clock
from salesops.demo.people import Chunk
from salesops.demo.vocab import VENDOR
from salesops.demo.world import World
from salesops.demo.writer import Output

MAX_MESSAGES = 20_000
MBOX_SHARE = 0.6  # of threads; the rest go to the Maildir
THREAD_LENGTHS = (1, 2, 3, 4, 5)
THREAD_LENGTH_P = (0.15, 0.35, 0.25, 0.15, 0.1)
STYLES = ("plain", "alternative", "html", "attachment", "legacy", "broken")
STYLE_P = (0.715, 0.12, 0.05, 0.05, 0.05, 0.015)

TOPICS = ("forecast accuracy", "lead scoring", "marketing attribution", "pipeline hygiene")
SUBJECTS = ("Quick question about {company}'s {topic}", "{vendor} + {company}",
            "Following up on your demo request", "Pricing for {company}",
            "Intro: {vendor} for {company}", "Next steps on {topic}")
INBOUND_SUBJECTS = ("Question about pricing", "Demo request", "Help with {topic}")
OPENERS = (
    "I noticed {company} has been growing its revenue team and thought {vendor} might help.",
    "Thanks for downloading our guide on {topic}.",
    "Great meeting you at the RevOps Summit last week.",
    "Teams like yours use {vendor} to get {topic} their board can trust.",
    "Following up on your demo request from our website.",
)
INBOUND_OPENERS = (
    "We are looking at tools for {topic} and found your website.",
    "A colleague recommended {vendor}. Could you tell me more about pricing?",
    "We'd like to see a demo of your {topic} features.",
)
ASKS = ("Would you have 20 minutes next week for a quick call?",
        "Are you free on Tuesday or Thursday afternoon for a demo?",
        "Happy to send over a short overview if that's easier.",
        "Could we find time to walk through your current process?")
REPLIES = {
    "positive": (
        "Thanks, this looks great. We'd love to see a demo.",
        "Perfect timing! We are actively looking for a solution like this.",
        "Yes, Thursday works well for us. Looking forward to it.",
        "The team was really impressed with the demo. Can you send over the proposal?",
        "This is exactly what we need. Let's set up a call with our VP next week.",
        "Great news, the budget is approved on our side. Please send the contract.",
        "Happy to move forward. Who should our legal team talk to?",
    ),
    "neutral": (
        "Thanks for reaching out. Could you share more details on pricing?",
        "I'll check with my team and get back to you.",
        "Can you send some more information? We are reviewing options this quarter.",
        "We might look at this later this year. What does onboarding look like?",
        "I am forwarding this to our operations lead, who owns this area.",
        "Could we push the call to next month?",
    ),
    "negative": (
        "We're not interested at this time. Please remove me from your list.",
        "Unfortunately we decided to go with another vendor.",
        "This is far too expensive for us, and frankly the demo was disappointing.",
        "Please stop emailing me. I have asked before.",
        "We had a bad experience with a similar tool and won't be pursuing this.",
        "Not a priority for us, and our budget was cut.",
    ),
}
FOLLOW_UPS = {
    "positive": ("Great to hear! I've sent a calendar invite for Thursday at 10am.",
                 "Wonderful, I'll send the proposal by end of day.",
                 "Fantastic. I'm looping in our solutions engineer for the next step."),
    "neutral": ("Of course, I've put our pricing overview below. Happy to answer questions.",
                "No problem, I'll follow up next month.",
                "Sure, here is a short summary of what we discussed."),
    "negative": ("Understood, thanks for letting me know. I'll close the loop on my side.",
                 "Sorry to hear that. I've removed you from our outreach.",
                 "Thanks for the candid feedback, I'll pass it on to our product team."),
}
SIGN_OFFS = {"en": ("Thanks,", "Best regards,", "Cheers,"), "de": ("Viele Grüße", "Beste Grüße"),
             "fr": ("Cordialement,", "Bien à vous,"), "es": ("Saludos,", "Un saludo,"),
             "pt": ("Abraços,", "Atenciosamente,")}
REPLY_PREFIX = {"de": "AW: ", "es": "RE: ", "pt": "RES: "}
COUNTRY_UTC_OFFSET = {"US": -5, "CA": -5, "GB": 0, "DE": 1, "FR": 1, "ES": 1, "AU": 10,
                      "SG": 8, "MX": -6, "BR": -3}
TERRITORY_UTC_OFFSET = {"NA East": -5, "NA West": -8, "EMEA": 1, "APAC": 8, "LATAM": -6,
                        "Global": -5}
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


class _Policy(type(compat32)):  # type: ignore[misc]
    """compat32, except that short ASCII headers skip the generic folding they do not need
    (which otherwise costs most of the time spent rendering a message)."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, str) and value.isascii() and len(name) + len(value) < 76 \
                and "\n" not in value:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy()


@dataclass(frozen=True)
class Party:
    name: str
    email: str
    first: str
    utc_offset: int
    locale: str
    signature: str


@dataclass(frozen=True)
class Draft:
    """One message of a thread before it is rendered in a style."""

    sender: Party
    recipient: Party
    subject: str
    sent_at: int
    message_id: str
    references: list[str]
    body: str
    quoted: str
    style: str
    flags: str = "S"  # Maildir flags once read: S (seen), RS (seen and replied to)


class MailExport:
    def __init__(self, out: Output, world: World) -> None:
        self.root = out.root / "mail"
        self.root.mkdir(parents=True, exist_ok=True)
        self.world = world
        self.counts = out.counts
        self.mbox = mailbox.mbox(self.root / "sales.mbox", create=True)
        mailbox.Maildir(self.root / "Maildir", create=True)
        self.budget = min(world.scale // 2, MAX_MESSAGES)
        self.written = 0
        org = world.org
        self.reps = [
            Party(name, email, first, TERRITORY_UTC_OFFSET[territory], "en",
                  f"{name}\n{title}, {VENDOR}")
            for name, email, first, territory, title in zip(
                org.names, org.emails, org.frame["FirstName"], org.territory, org.frame["Title"],
                strict=True)
        ]
        self.counts["mail/sales.mbox"] = 0
        self.counts["mail/Maildir"] = 0

    def close(self) -> None:
        self.mbox.flush()
        self.mbox.close()

    def write(self, rng: np.random.Generator, chunk: Chunk, done: int) -> None:
        """Write this chunk's share of the message budget (`done`: people so far).

        Per-message choices are scalar, so they use a `random.Random` seeded from the
        chunk's generator: as reproducible, and far cheaper per draw than numpy's.
        """
        pick = random.Random(int(rng.integers(1 << 62)))
        share = round(self.budget * done / self.world.scale) - self.written
        people = chunk.people[["first", "last", "email", "title", "acc_row", "has_lead",
                               "lead_owner", "owner", "logit", "created"]].to_dict("records")
        accounts = chunk.accounts[["name", "locale", "country_no"]].to_dict("records")
        for row in rng.permutation(len(people)):
            if share <= 0:
                break
            length = min(pick.choices(THREAD_LENGTHS, THREAD_LENGTH_P)[0], share)
            person = people[row]
            thread = self._thread(pick, person, accounts[person["acc_row"]], length)
            share -= len(thread)
            deliver = self._to_mbox if pick.random() < MBOX_SHARE else self._to_maildir
            for draft in thread:
                deliver(draft, render(pick, draft))

    def _to_mbox(self, draft: Draft, raw: bytes) -> None:
        stamp = time.asctime(time.gmtime(draft.sent_at))
        self.mbox.add(f"From {draft.sender.email} {stamp}\n".encode() + raw)
        self.counts["mail/sales.mbox"] += 1
        self.written += 1

    def _to_maildir(self, draft: Draft, raw: bytes) -> None:
        """Messages older than a week are read (in cur/ with flags), newer ones unread in new/.
        Names are made from the message, not from the clock, host and pid as `mailbox` would,
        and nobody reads the folder while it is written, so no tmp/ step is needed."""
        unique = f"{draft.sent_at}.M{self.written:06d}P0.salesops-demo"
        seen = draft.sent_at < clock.ANCHOR - 7 * clock.DAY
        path = (self.root / "Maildir" / "cur" / f"{unique}:2,{draft.flags}" if seen
                else self.root / "Maildir" / "new" / unique)
        path.write_bytes(raw)
        os.utime(path, (draft.sent_at, draft.sent_at))  # readers take delivery time from it
        self.counts["mail/Maildir"] += 1
        self.written += 1

    def _thread(self, pick: random.Random, who: dict[str, Any], account: dict[str, Any],
                length: int) -> list[Draft]:
        rep = self.reps[who["lead_owner"] if who["has_lead"] else who["owner"]]
        first = who["first"]
        country = self.world.vocab.countries[account["country_no"]].code
        person = Party(f"{first} {who['last']}", who["email"], first, COUNTRY_UTC_OFFSET[country],
                       account["locale"], f"{first}\n{who['title']}, {account['name']}")
        words = {"company": account["name"], "vendor": VENDOR, "topic": pick.choice(TOPICS)}
        inbound = pick.random() < 0.15
        subject = pick.choice(INBOUND_SUBJECTS if inbound else SUBJECTS).format(**words)
        score = who["logit"] + 2.0 + pick.gauss(0, 1.0)
        tone = "positive" if score > 0.5 else "negative" if score < -0.7 else "neutral"
        t = who["created"] + pick.randrange(3_600, 7 * clock.DAY)
        drafts: list[Draft] = []
        for k in range(length):
            if t >= clock.ANCHOR:
                break
            from_person = (k % 2 == 0) == inbound
            sender, recipient = (person, rep) if from_person else (rep, person)
            if k == 0:
                body = pick.choice(INBOUND_OPENERS if inbound else OPENERS).format(**words)
                if not inbound:
                    body += " " + pick.choice(ASKS)
            else:
                body = pick.choice(REPLIES[tone] if from_person else FOLLOW_UPS[tone])
            previous = drafts[-1] if drafts else None
            domain = sender.email.rsplit("@", 1)[-1]
            sign_off = pick.choice(SIGN_OFFS[sender.locale])
            drafts.append(Draft(
                sender=sender, recipient=recipient,
                subject=REPLY_PREFIX.get(sender.locale, "Re: ") + subject if k else subject,
                sent_at=t,
                message_id=f"<{pick.getrandbits(62):016x}.{t}@{domain}>",
                references=[*previous.references, previous.message_id] if previous else [],
                body=f"Hi {recipient.first},\n\n{body}\n\n{sign_off}\n{sender.signature}\n",
                quoted=_quote(previous) if previous and pick.random() < 0.5 else "",
                style=pick.choices(STYLES, STYLE_P)[0],
            ))
            typical = 8 * 3_600 if from_person else 20 * 3_600
            t += int(pick.lognormvariate(math.log(typical), 0.9))
        return [replace(d, flags="RS") for d in drafts[:-1]] + drafts[-1:]


def _quote(previous: Draft) -> str:
    when = _local(previous.sent_at, previous.sender.utc_offset).strftime("%a, %b %d, %Y at %H:%M")
    lines = "\n".join(f"> {line}" if line else ">" for line in previous.body.splitlines())
    return f"\nOn {when}, {previous.sender.name} <{previous.sender.email}> wrote:\n{lines}\n"


def _local(t: int, utc_offset: int) -> datetime:
    return datetime.fromtimestamp(t, timezone(timedelta(hours=utc_offset)))


def _header(text: str, charset: str) -> str | Header:
    return text if text.isascii() else Header(text, charset)


def _html(text: str, quoted: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                         for p in text.split("\n\n"))
    quote = (f"<blockquote>{html.escape(quoted).replace(chr(10), '<br>')}</blockquote>"
             if quoted else "")
    return f"<html><head><meta charset=\"utf-8\"></head><body>{paragraphs}{quote}</body></html>"


def _legacy(text: str, charset: str) -> str:
    """Typographic punctuation a windows-1252 client would add."""
    if charset == "windows-1252":
        text = text.replace("'", "\u2019").replace(" - ", " \u2013 ")
        text += "\nP.S. Our budget for this is around 20.000 \u20ac.\n"
    return text


def _text(part: Message, text: str, subtype: str, charset: str) -> Message:
    """Fill a text part: 7bit if plain ASCII, else quoted-printable. Set directly because
    MIMEText's charset bookkeeping costs more than the rest of the message."""
    if charset == "us-ascii":
        part["Content-Type"] = f'text/{subtype}; charset="us-ascii"'
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(text)
    else:
        part["Content-Type"] = f'text/{subtype}; charset="{charset}"'
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(binascii.b2a_qp(text.encode(charset)).decode("ascii"))
    return part


def _attachment(pick: random.Random) -> Message:
    if pick.random() < 0.6:
        part: Message = MIMEApplication(TINY_PDF, "pdf")
        filename = "Northwind_Proposal.pdf"
    else:
        part = _text(Message(), "plan,seats,price_per_seat\nGrowth,25,49\nEnterprise,100,39\n",
                     "csv", "us-ascii")
        filename = "pricing.csv"
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def render(pick: random.Random, draft: Draft) -> bytes:
    """The message's bytes in its style; broken ones are damaged after rendering."""
    text = draft.body + draft.quoted
    style = draft.style
    charset = "utf-8"
    if style == "legacy":
        charset = pick.choice(("windows-1252", "iso-8859-1"))
        text = _legacy(text, charset)
        try:
            "".join((text, draft.subject, draft.sender.name, draft.recipient.name)).encode(charset)
        except UnicodeEncodeError:
            charset = "utf-8"
    message = MIMEMultipart("alternative" if style in ("alternative", "broken") else "mixed",
                            boundary=f"=_{pick.getrandbits(64):016x}") \
        if style in ("alternative", "broken", "attachment") else Message()
    message["From"] = formataddr((draft.sender.name, draft.sender.email), charset)
    message["To"] = formataddr((draft.recipient.name, draft.recipient.email), charset)
    message["Subject"] = _header(draft.subject, charset)
    message["Date"] = format_datetime(_local(draft.sent_at, draft.sender.utc_offset))
    message["Message-ID"] = draft.message_id
    if draft.references:
        message["In-Reply-To"] = draft.references[-1]
        message["References"] = " ".join(draft.references)
    if isinstance(message, MIMEMultipart):
        message.attach(_text(Message(), text, "plain", "utf-8"))
        if style == "attachment":
            message.attach(_attachment(pick))
        else:
            message.attach(_text(Message(), _html(draft.body, draft.quoted), "html", "utf-8"))
        if style == "broken":
            return _break(pick, message)
    else:
        message["MIME-Version"] = "1.0"
        if style == "html":
            _text(message, _html(draft.body, draft.quoted), "html", "utf-8")
        else:
            plain_ascii = text.isascii() and style != "legacy"
            _text(message, text, "plain", "us-ascii" if plain_ascii else charset)
    return message.as_bytes(policy=POLICY)


def _break(pick: random.Random, message: Message) -> bytes:
    """Damage a message the ways real mailboxes are damaged."""
    damage = pick.randrange(3)
    if damage == 0:  # headers lost in transit
        for name in ("Date", "From", "Message-ID")[: 1 + pick.randrange(3)]:
            del message[name]
        return message.as_bytes(policy=POLICY)
    if damage == 1:  # a base64 body that does not decode
        part = message.get_payload(0)
        part.replace_header("Content-Transfer-Encoding", "base64")
        part.set_payload("SGVsbG8sIHRoaXMgd2FzIGN1dCBvZm!!Y*\nZmVyIHRoZSBwcm9wb3Nh===")
        return message.as_bytes(policy=POLICY)
    raw = message.as_bytes(policy=POLICY)  # the transfer stopped inside the closing boundary
    boundary = message.get_boundary().encode()
    cut = raw.rfind(b"--" + boundary)
    return raw[: cut + 2 + len(boundary) // 2]
