"""Replaying quarantined rows: each source's key rule, mail parsed again, nothing half-done."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.records import Rejected
from connectors.webforms import read_submissions
from orchestration.ingestion import load_batches
from orchestration.replay import replay_rejects
from salesops.errors import SalesopsError
from salesops.loading import load_batch
from salesops.rejects import list_rejects


def test_a_json_line_fixed_by_hand_is_loaded_and_resolved(clean_db, tmp_path):
    path = tmp_path / "submissions.jsonl"
    path.write_text('{"submission_id": "s1", "fields": {}}\n{"submission_id": "s2", "fields"\n'
                    '{"fields": {"email": "x@example.com"}}\n')
    load_batches(clean_db, read_submissions(path))
    broken, keyless = list_rejects(clean_db, "webforms")
    assert broken.record["text"].startswith('{"submission_id": "s2"')
    with pytest.raises(SalesopsError, match="the text is still not JSON"):
        replay_rejects(clean_db, [broken])
    with pytest.raises(SalesopsError, match="submission_id is empty"):
        replay_rejects(clean_db, [keyless])
    fixed = {broken.id: {"line": 2, "text": '{"submission_id": "s2", "fields": {}}'},
             keyless.id: {"submission_id": "s3", "fields": {"email": "x@example.com"}}}
    [done] = replay_rejects(clean_db, [broken, keyless], fixed)
    assert (done.result.rows_loaded, done.resolved, done.asked) == (2, 2, 2)
    assert list_rejects(clean_db, "webforms") == []
    with clean_db.connect() as conn:
        keys = conn.execute(sa.text("select source_key from raw.webforms__submissions "
                                    "order by 1")).scalars().all()
    assert keys == ["s1", "s2", "s3"]


def test_a_message_is_parsed_again_and_keeps_its_imap_place(clean_db):
    where = {"imap": {"account": "me@host", "folder": "INBOX", "uidvalidity": 7, "uid": 3}}
    load_batch(clean_db, "email", "messages", "imap://me@host/INBOX", [],
               [Rejected("sha256:x", "UnreadableMessage: no message headers",
                         {**where, "raw": "garbage"})])
    [reject] = list_rejects(clean_db, "email")
    with pytest.raises(SalesopsError, match="still not a readable message"):
        replay_rejects(clean_db, [reject])
    fixed = {reject.id: {**where, "raw": "From: a@example.com\nMessage-ID: <r@x>\n\nhi\n"}}
    [done] = replay_rejects(clean_db, [reject], fixed)
    assert done.resolved == 1
    with clean_db.connect() as conn:
        record = conn.execute(sa.text("select record from raw.email__messages")).scalar()
    assert record["imap"] == where["imap"] and record["message_id"] == "<r@x>"


def test_an_unchanged_row_adds_nothing_and_stays_open(clean_db):
    load_batch(clean_db, "salesforce", "contact", "f.csv",
               [{"Id": "003A", "LastName": "A", "source_key": "003A"}],
               [Rejected("003A", "line 3: 5 columns, header has 4",
                         {"line": 3, "Id": "003A", "LastName": "A"})])
    [reject] = list_rejects(clean_db, "salesforce")
    [done] = replay_rejects(clean_db, [reject])
    assert (done.result.rows_duplicate, done.resolved) == (1, 0)
    assert [r.id for r in list_rejects(clean_db, "salesforce")] == [reject.id]
