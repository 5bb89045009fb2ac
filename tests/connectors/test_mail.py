"""Mail connector: threads, charsets, HTML, attachments, reply text; never an exception."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from mailparser_reply import EmailReplyParser

from connectors.mail import (
    REPLY_LANGUAGES,
    _first_reply,
    html_to_text,
    parse_message,
    read_mail,
    reply_text,
)


def _message(msg_id: str | None, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Ann Example <ann@example.com>"
    msg["To"] = "bob@example.com, Carl <carl@example.com>"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 04 Mar 2025 10:15:00 +0100"
    if msg_id:
        msg["Message-ID"] = msg_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _thread() -> list[EmailMessage]:
    return [
        _message("<a@x>", "Pricing", "What does it cost?"),
        _message("<b@x>", "Re: Pricing", "About 12k a year.\n\nOn Tue, Ann wrote:\n> What?",
                 In_Reply_To="<a@x>", References="<a@x>"),
        _message("<c@x>", "Re: Pricing", "Deal!", In_Reply_To="<b@x>"),
    ]


def test_mbox_threads_and_addresses(tmp_path):
    box = mailbox.mbox(tmp_path / "sales.mbox")
    for msg in _thread():
        box.add(msg)
    box.flush()
    [batch] = read_mail(tmp_path / "sales.mbox")
    assert (batch.source, batch.entity, batch.rejects) == ("email", "messages", [])
    a, b, c = batch.records
    assert [r["thread_id"] for r in (a, b, c)] == ["<a@x>"] * 3
    assert (b["in_reply_to"], b["references"], c["references"]) == ("<a@x>", ["<a@x>"], [])
    assert (a["from_address"], a["from_name"]) == ("ann@example.com", "Ann Example")
    assert a["to"] == ["bob@example.com", "carl@example.com"] and a["cc"] == []
    assert a["date"] == "2025-03-04T10:15:00+01:00" and a["source_key"] == "<a@x>"
    assert b["reply_text"] == "About 12k a year."


def test_maildir_and_eml_files(tmp_path):
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for msg in _thread()[:2]:
        maildir.add(msg)
    (tmp_path / "single.eml").write_bytes(bytes(_thread()[2]))
    records = [r for b in read_mail(tmp_path) for r in b.records]
    assert sorted(r["message_id"] for r in records) == ["<a@x>", "<b@x>", "<c@x>"]


def test_charsets_html_and_attachments():
    raw = (b"From: =?koi8-r?B?7cHbwQ==?= <masha@example.ru>\r\n"
           b"Subject: =?iso-8859-1?Q?R=E9union?= \xe9t\xe9\r\n"
           b"MIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/html; charset=x-unknown-charset\r\n\r\n"
           b"<html><head><style>p{}</style></head><body><p>Caf\xc3\xa9 &amp; cr\xc3\xa8me"
           b"</p><script>alert(1)</script><div>line two</div></body></html>\r\n"
           b"--b\r\nContent-Type: application/pdf\r\n"
           b'Content-Disposition: attachment; filename="quote.pdf"\r\n'
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
    record = parse_message(raw)
    assert record["from_name"] == "Маша" and record["from_address"] == "masha@example.ru"
    assert record["subject"] == "Réunion été"
    assert record["body_text"] == "Café & crème\n\nline two"
    assert record["attachments"] == [{"filename": "quote.pdf", "content_type": "application/pdf",
                                      "size": 9}]
    assert record["message_id"] is None and record["source_key"].startswith("sha256:")


def test_quoted_printable_latin1_body():
    raw = (b"From: a@example.com\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n")
    assert parse_message(raw)["body_text"].strip() == "Grüße"


def test_reply_text_drops_quotes_and_signature():
    body = ("Sounds good, Tuesday works.\n\n--\nJane Doe\nVP Sales\n\n"
            "-----Original Message-----\nFrom: Bob\nSent: Monday\n\nearlier text\n")
    assert reply_text(body) == "Sounds good, Tuesday works."
    assert reply_text("Agreed.\n> quoted line\n") == "Agreed."
    assert html_to_text("") == "" and reply_text("  ") == ""


@pytest.mark.parametrize("body", [
    "Sounds good.\n\nOn Tue, 4 Mar 2025, Ann <ann@example.com> wrote:\n> What?\n",
    "On Tue, Ann wrote:\n> only quoted\n\nOn Mon, Bob wrote:\n> > older\n",
    "Passt.\n\nAm 04.03.2025 um 10:15 schrieb Ann <ann@example.com>:\n> Wie?\n",
    "D'accord.\n\nLe mar. 4 mars 2025, Ann a écrit :\n> Quoi ?\n",
    "Thanks!\n\nBest regards,\nJane\n\nFrom: Bob\nSent: Monday\nTo: Jane\nSubject: x\n\nhi\n",
    "Yes.\n\nSent from my iPhone\n",
    "Plain text with no reply header at all.\nSecond line.\n",
    "Reply\r\n\r\n________________________________\r\nFrom: Bob\r\nearlier\r\n",
])
def test_reply_text_is_the_reply_parsers_first_reply(body):
    """The early-stopping split keeps mail-parser-reply's first reply exactly."""
    expected = EmailReplyParser(languages=REPLY_LANGUAGES).read(body).replies[0].body
    assert _first_reply(body).body == expected


def test_unreadable_files_are_rejected_with_a_reason(tmp_path):
    (tmp_path / "LICENSE").write_text("Permission is hereby granted, free of charge\n")
    (tmp_path / "ok.eml").write_bytes(bytes(_thread()[0]))
    [batch] = read_mail(tmp_path)
    assert [r["message_id"] for r in batch.records] == ["<a@x>"]
    [reject] = batch.rejects
    assert "no message headers" in reject.reason and reject.record["origin"].endswith("LICENSE")


def test_every_shared_message_is_a_record_or_a_reject(shared_data: Path):
    folder = shared_data / "emails"
    if not folder.is_dir():
        pytest.skip(f"no email corpus at {folder}")
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    records = rejects = 0
    for batch in read_mail(folder):
        records += len(batch.records)
        rejects += len(batch.rejects)
        assert all(r.reason for r in batch.rejects)
    assert records + rejects == files
    assert records > 0.99 * files
