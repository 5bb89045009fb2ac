"""Bad input, each case: a clear error or a quarantine row with its reason, the run carries
on, and a re-run after the fix loads exactly the rows that were missing."""

from __future__ import annotations

import io
import mailbox
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.mail import read_mail
from connectors.mapping.convert import ConversionError, convert
from connectors.salesforce_export import read_export
from orchestration.ingestion import load_batches
from salesops.models.raw import raw_records
from salesops.rejects import escape_cell, list_rejects, read_fixed_csv, write_csv

HEADER = "Id,FirstName,Email,Notes__c\n"
GOOD = ["003A,Ann,ann@example.com,hi\n", "003B,Bob,bob@example.com,\"multi\nline\"\n"]

CONTACTS = raw_records("salesforce", "contact")


def _export(tmp_path: Path, body: bytes, name: str = "Contact.csv") -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(body)
    return folder


def _load(engine: sa.Engine, folder: Path) -> tuple[int, int, int]:
    totals = load_batches(engine, read_export(folder))["contact"]
    return totals.rows_loaded, totals.rows_duplicate, totals.rows_rejected


def _keys(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(sa.text("select source_key from raw.salesforce__contact "
                                    "order by 1")).scalars().all()


def _reasons(engine: sa.Engine) -> list[str]:
    return [r.reason for r in list_rejects(engine, "salesforce")]


def test_truncated_csv_quarantines_the_cut_row_and_the_fixed_file_adds_it(clean_db, tmp_path):
    full = (HEADER + "".join(GOOD) + "003C,Cid,cid@example.com,\"a long note\"\n").encode()
    cut = full[:full.rindex(b"long")]  # the download stopped inside the last quoted field
    folder = _export(tmp_path, cut)
    assert _load(clean_db, folder) == (2, 0, 1)
    assert _reasons(clean_db) == ["line 5: the file ends inside this row (truncated download?): "
                                  "fix the file and load it again"]
    _export(tmp_path, full)
    assert _load(clean_db, folder) == (1, 2, 0)
    assert _keys(clean_db) == ["003A", "003B", "003C"]


def test_missing_and_extra_columns_are_quarantined_then_fixed(clean_db, tmp_path):
    bad = HEADER + GOOD[0] + "003C,Cid\n" + "003D,Dan,dan@example.com,x,surplus\n"
    folder = _export(tmp_path, bad.encode())
    assert _load(clean_db, folder) == (1, 0, 2)
    assert _reasons(clean_db) == ["line 3: 2 columns, header has 4",
                                  "line 4: 5 columns, header has 4"]
    fixed = HEADER + GOOD[0] + "003C,Cid,cid@example.com,\n" + "003D,Dan,dan@example.com,x\n"
    _export(tmp_path, fixed.encode())
    assert _load(clean_db, folder) == (2, 1, 0)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_another_delimiter_is_detected(clean_db, tmp_path, delimiter):
    text = "Id,FirstName,Email\n003A,Ann,ann@example.com\n".replace(",", delimiter)
    assert _load(clean_db, _export(tmp_path, text.encode())) == (1, 0, 0)
    with clean_db.connect() as conn:
        record = conn.execute(sa.text(f"select record from {CONTACTS}")).scalar()
    assert record == {"Id": "003A", "FirstName": "Ann", "Email": "ann@example.com"}


def test_bom_and_latin1_lines(clean_db, tmp_path):
    body = ("\ufeff" + HEADER + "003A,Zoë,zoe@example.com,ok\n").encode("utf-8")
    body += "003B,José,jose@example.com,señor\n".encode("latin-1")
    assert _load(clean_db, _export(tmp_path, body)) == (2, 0, 0)
    with clean_db.connect() as conn:
        rows = conn.execute(sa.text("select record->>'Id', record->>'FirstName', "
                                    f"record->>'Notes__c' from {CONTACTS} "
                                    "order by 1")).all()
    assert rows == [("003A", "Zoë", "ok"), ("003B", "José", "señor")]


def test_a_10_mb_field_loads_whole(clean_db, tmp_path):
    big = "x" * (10 * 1024 * 1024)
    assert _load(clean_db, _export(tmp_path, (HEADER + f"003A,Ann,a@b.c,\"{big}\"\n").encode())
                 ) == (1, 0, 0)
    with clean_db.connect() as conn:
        size = conn.execute(sa.text("select length(record->>'Notes__c') "
                                    f"from {CONTACTS}")).scalar()
    assert size == len(big)


def test_duplicate_headers_keep_both_values(clean_db, tmp_path):
    body = b"Id,Email,Email\n003A,work@example.com,home@example.com\n"
    assert _load(clean_db, _export(tmp_path, body)) == (1, 0, 0)
    with clean_db.connect() as conn:
        record = conn.execute(sa.text(f"select record from {CONTACTS}")).scalar()
    assert record == {"Id": "003A", "Email": "work@example.com", "Email (2)": "home@example.com"}


def test_formula_payloads_are_data_and_never_reexported_live(clean_db, tmp_path):
    payloads = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    body = HEADER + "".join(f",P{i},p{i}@example.com,\"{p}\"\n" for i, p in enumerate(payloads))
    assert _load(clean_db, _export(tmp_path, body.encode())) == (0, 0, len(payloads))
    out = io.StringIO()
    write_csv(list_rejects(clean_db, "salesforce"), out)
    exported = out.getvalue()
    for payload in payloads:
        assert escape_cell(payload) == "'" + payload
        assert f",{payload}" not in exported and f",\"{payload}" not in exported
    path = tmp_path / "fixed.csv"
    path.write_text(exported, encoding="utf-8")
    back = read_fixed_csv(path)
    assert [r["Notes__c"] for r in back.values()] == payloads  # the quote comes off again


def test_invalid_and_ambiguous_dates_are_errors_never_guesses():
    both = ("%d/%m/%Y", "%m/%d/%Y")
    with pytest.raises(ConversionError, match="'03/04/2025' is ambiguous: 2025-04-03 .* or "
                                              "2025-03-04 .*keep only the format"):
        convert("03/04/2025", "date", both)
    assert str(convert("25/04/2025", "date", both)) == "2025-04-25"  # only one reading
    assert str(convert("04/04/2025", "date", both)) == "2025-04-04"  # both read the same
    with pytest.raises(ConversionError, match="'2025-02-30' is not a date"):
        convert("2025-02-30", "date", ())


MALFORMED = [
    # a multipart without its closing boundary, base64 that is not, an unknown charset
    b"From: a@example.com\nMessage-ID: <mime1@x>\nMIME-Version: 1.0\nContent-Type: "
    b"multipart/mixed; boundary=\"zz\"\n\n--zz\nContent-Type: text/plain\n\nhello\n--zz\n"
    b"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
    b"Content-Disposition: attachment; filename=\"q.pdf\"\n\n!!!not base64!!!\n",
    b"From: b@example.com\nMessage-ID: <mime2@x>\nContent-Type: text/plain; charset=x-klingon"
    b"\n\n\xff\xfe weird\n",
    b"\x00\x01\x02 this is no message at all",
]


def test_malformed_mime_loads_or_is_quarantined_and_a_fixed_message_is_added(clean_db,
                                                                          tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    for i, raw in enumerate(MALFORMED):
        (folder / f"{i}.eml").write_bytes(raw)
    totals = load_batches(clean_db, read_mail(folder))["messages"]
    assert (totals.rows_loaded, totals.rows_rejected) == (2, 1)
    [reject] = list_rejects(clean_db, "email")
    assert "no message headers" in reject.reason and reject.record["origin"].endswith("2.eml")
    with clean_db.connect() as conn:
        records = conn.execute(sa.text("select record from raw.email__messages "
                                       "order by source_key")).scalars().all()
    assert records[0]["attachments"][0]["filename"] == "q.pdf"
    assert records[0]["body_text"].strip() == "hello" and records[1]["body_text"]
    (folder / "2.eml").write_bytes(b"From: c@example.com\nMessage-ID: <mime3@x>\n\nfixed\n")
    again = load_batches(clean_db, read_mail(folder))["messages"]
    assert (again.rows_loaded, again.rows_duplicate, again.rows_rejected) == (1, 2, 0)


def test_an_mbox_with_a_broken_message_loads_the_others(clean_db, tmp_path):
    box = mailbox.mbox(tmp_path / "in.mbox")
    box.add(b"From: a@example.com\nMessage-ID: <ok1@x>\n\nfine\n")
    box.add(b"garbage without headers\n")
    box.add(b"From: c@example.com\nMessage-ID: <ok2@x>\n\nfine too\n")
    box.flush()
    totals = load_batches(clean_db, read_mail(tmp_path / "in.mbox"))["messages"]
    assert (totals.rows_loaded, totals.rows_rejected) == (2, 1)
