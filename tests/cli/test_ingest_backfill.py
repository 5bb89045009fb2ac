"""`salesops ingest`: web-form exports through lead capture, backfills of daily drops by date
range, and the IMAP mailbox of the settings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_ingest import error, run

from salesops import cli
from salesops.db import get_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from imap_server import PASSWORD, USER, pymap_server  # noqa: E402

HEADER = ("submission_id,form_key,submitted_at,email,first_name,last_name,company,"
          "utm_source,utm_campaign,consent_marketing,consent_text,consent_given_at,website\n")


@pytest.fixture(scope="module")
def db(make_database) -> str:
    return make_database("salesops_ingest_backfill")


@pytest.fixture(scope="module", autouse=True)
def ingest_commands():
    if not any(group.name == "ingest" for group in cli.app.registered_groups):
        cli.add_plugin_commands()


def _count(db: str, sql: str) -> int:
    with get_engine(db).connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def test_webform_export_goes_through_lead_capture_once(tmp_path, db):
    past = tmp_path / "past.csv"
    past.write_text(
        HEADER
        + "f1,contact,2025-03-04T10:15:00Z,Ann.Lee@Example.com,Ann,Lee,Acme,google,spring,yes,"
          "I agree to news,2025-03-04T10:15:00Z,\n"
        + "f2,contact,2025-03-05T09:00:00Z,ann.lee+web@example.com,,,Acme,,,no,,,\n"
        + "f3,contact,2025-03-05T09:00:00Z,not-an-email,Bob,,,,,,,,\n"
        + "f4,contact,2025-03-06T09:00:00Z,bot@example.com,,,,,,,,,http://spam\n"
        + "f5,contact,05/03/2025,eve@example.com,Eve,,,,,,,,\n"
        + "f6,contact,2025-03-06T09:00:00Z,max@example.com,Max,,,,,maybe,,,\n")
    first = run(tmp_path, db, "webforms", "--file", str(past))
    assert first.returncode == 0, first.stderr
    assert ("6 rows, 4 new in raw; leads 2 created, 0 updated, 0 unchanged; 1 honeypot "
            "ignored, 3 quarantined") in first.stdout
    with get_engine(db).connect() as conn:
        contact = conn.execute(sa.text(
            "select c.id, c.marketing_consent, c.consent_text, c.consent_at from app.contacts c "
            "where c.email_normalized = 'ann.lee@example.com'")).one()
        leads = conn.execute(sa.text(
            "select source_key, utm->>'campaign', first_touch_at from app.leads "
            "where contact_id = :c order by source_key"), {"c": contact.id}).all()
        reasons = conn.execute(sa.text(
            "select stage, reason from ops.rejected_rows order by reason")).all()
    assert contact.marketing_consent is True and contact.consent_text == "I agree to news"
    assert contact.consent_at.isoformat() == "2025-03-04T10:15:00+00:00"
    assert [(k, c) for k, c, _ in leads] == [("f1", "spring"), ("f2", None)]
    assert leads[0][2].isoformat() == "2025-03-04T10:15:00+00:00"
    assert [(stage, reason.split(":")[0]) for stage, reason in reasons] == [
        ("capture", "line 4"), ("capture", "line 6"), ("load", "line 7")]
    assert "not a valid email" in reasons[0][1] and "ISO 8601" in reasons[1][1]
    assert "'maybe' is not yes or no" in reasons[2][1]

    again = run(tmp_path, db, "webforms", "--file", str(past))
    assert "0 new in raw; leads 0 created, 0 updated, 2 unchanged" in again.stdout
    assert _count(db, "select count(*) from app.leads where source = 'webforms'") == 2
    assert _count(db, "select count(*) from app.events where topic = 'lead.created'") == 2


def test_jsonl_export_and_a_date_range_of_drops(tmp_path, db):
    drops = tmp_path / "drops"
    for day in ("2026-01-01", "2026-01-03"):
        (drops / day).mkdir(parents=True)
        (drops / day / "events.jsonl").write_text(json.dumps(
            {"event_id": f"e-{day}", "event_type": "session", "occurred_at": f"{day}T08:00:00Z"})
            + "\n")
    (drops / "2026-01-09").mkdir()  # outside the range
    result = run(tmp_path, db, "touchpoints", "--path", str(drops), "--from", "2026-01-01",
                 "--to", "2026-01-04")
    assert result.returncode == 0, result.stderr
    assert "no drop folder for 2 of 4 days: 2026-01-02, 2026-01-04" in result.stdout
    assert "touchpoints.events: 2 new" in result.stdout
    assert "--to needs --from" in error(run(tmp_path, db, "touchpoints", "--path", str(drops),
                                            "--to", "2026-01-04"))
    assert "--from '1 Jan' is not a date" in error(
        run(tmp_path, db, "touchpoints", "--path", str(drops), "--from", "1 Jan"))
    assert "ends (2026-01-01) before it starts" in error(run(
        tmp_path, db, "touchpoints", "--path", str(drops), "--from", "2026-01-03", "--to",
        "2026-01-01"))

    jsonl = tmp_path / "forms" / "2026-01-02" / "past.jsonl"
    jsonl.parent.mkdir(parents=True)
    jsonl.write_text(json.dumps({"submission_id": "j1", "fields": {"email": "jo@example.com"},
                                 "consent": {"marketing": True, "text": "ok",
                                             "given_at": "2026-01-02T08:00:00Z"}}) + "\n"
                     + "{not json\n")
    forms = run(tmp_path, db, "webforms", "--file", str(jsonl.parent.parent), "--from",
                "2026-01-02")
    assert "leads 1 created" in forms.stdout and "1 quarantined" in forms.stdout


def test_imap_mailbox_from_the_settings(tmp_path, db):
    from imap_tools import MailBoxUnencrypted

    with pymap_server(tmp_path / "pymap.log") as port:
        with MailBoxUnencrypted("127.0.0.1", port).login(USER, PASSWORD) as box:
            box.folder.create("Sales")
            box.append(b"From: a@example.com\r\nSubject: hi\r\nMessage-ID: <set1@x>\r\n\r\nhi\r\n",
                       "Sales")
        env = {"SALESOPS_IMAP_HOST": "127.0.0.1", "SALESOPS_IMAP_PORT": str(port),
               "SALESOPS_IMAP_SECURITY": "plain", "SALESOPS_IMAP_USER": USER,
               "SALESOPS_IMAP_FOLDERS": "Sales, INBOX"}
        result = run(tmp_path, db, "imap", IMAP_PASSWORD=PASSWORD, **env)
        assert result.returncode == 0, result.stderr
        assert "Sales: 1 on the server, 1 loaded, 0 quarantined" in result.stdout
        assert "INBOX: 0 on the server" in result.stdout
    assert "--host and --user" in error(run(tmp_path, db, "imap"))
