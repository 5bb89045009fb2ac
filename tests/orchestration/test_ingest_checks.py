"""The ingest assets' checks: Great Expectations suites that block downstream on an unusable
batch, the IMAP reconciliation as a check, and the daily partitions of file drops."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from orchestration import expectations
from orchestration.defs.ingest import (
    DAILY,
    EXPECTATIONS,
    RECONCILIATION,
    drop_assets,
    drop_key,
    ingest_assets,
    raw_key,
)
from orchestration.ingestion import drop_days
from orchestration.resources import Database, HubSpotApi, ImapMailbox, SourceFiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from imap_server import PASSWORD, USER, pymap_server  # noqa: E402

WEBFORMS = raw_key("webforms", "submissions")


def _submission(n: int, email: str | None = None, **extra) -> dict:
    return {"submission_id": f"s{n}", "form_key": "demo", "submitted_at": "2026-01-05T10:00:00Z",
            "fields": {"email": email or f"person{n}@example.com", "first_name": f"P{n}"},
            "consent": {"marketing": True, "text": "Yes", "given_at": "2026-01-05T10:00:00Z"},
            **extra}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _resources(database_url: str, root: Path, mailbox: ImapMailbox | None = None) -> dict:
    return {"database": Database(url=database_url), "source_files": SourceFiles(root=str(root)),
            "hubspot_api": HubSpotApi(), "imap_mailbox": mailbox or ImapMailbox()}


def _asset(assets: list[dg.AssetsDefinition], key: dg.AssetKey) -> dg.AssetsDefinition:
    return next(a for a in assets if key in a.keys)


def _check(result: dg.ExecuteInProcessResult, key: dg.AssetKey, name: str):
    return next(e for e in result.get_asset_check_evaluations()
                if e.asset_key == key and e.check_name == name)


def test_suites_pass_a_good_batch_warn_on_odd_values_and_flag_an_unusable_one():
    good = expectations.frame([("s1", _submission(1)), ("s2", _submission(2))])
    assert expectations.validate(good, "webforms", "submissions").passed

    odd = expectations.frame([(f"s{n}", _submission(n, email="not an address"))
                              for n in range(3)])
    outcome = expectations.validate(odd, "webforms", "submissions")
    assert not outcome.passed and not outcome.unusable
    assert [(f["column"], f["severity"], f["unexpected"]) for f in outcome.failures] == [
        ("fields.email", "warning", 3)]

    twice = expectations.frame([("s1", _submission(1)), ("s1", _submission(1, "b@example.com")),
                                ("s3", {"submission_id": "s3", "email": "c@example.com"})])
    outcome = expectations.validate(twice, "webforms", "submissions")
    assert outcome.unusable
    assert {(f["expectation"], f["severity"]) for f in outcome.failures} == {
        ("expect_column_values_to_be_unique", "critical")}


def test_an_unusable_batch_blocks_downstream_and_a_good_one_does_not(clean_db, database_url,
                                                                      tmp_path):
    ran = []

    @dg.asset(deps=[WEBFORMS])
    def downstream() -> None:
        ran.append(True)

    asset = _asset(ingest_assets, WEBFORMS)
    resources = _resources(database_url, tmp_path)
    _write(tmp_path / "webforms" / "submissions.jsonl", [_submission(1), _submission(2)])
    good = dg.materialize([asset, downstream], resources=resources)
    assert good.success and ran == [True]
    check = _check(good, WEBFORMS, EXPECTATIONS)
    assert check.passed and check.metadata["rows_checked"].value == 2

    # a wrong export: no `fields` object at all, so no e-mail column
    _write(tmp_path / "webforms" / "submissions.jsonl",
           [{"submission_id": f"x{n}", "email": f"x{n}@example.com"} for n in range(3)])
    bad = dg.materialize([asset, downstream], resources=resources, raise_on_error=False)
    assert not bad.success and ran == [True]  # downstream did not run again
    check = _check(bad, WEBFORMS, EXPECTATIONS)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_to_exist fields.email" in check.description
    with clean_db.connect() as conn:  # what landed stays (nothing is lost), flagged
        assert conn.execute(sa.text("select count(*) from raw.webforms__submissions")
                            ).scalar() == 5


def test_a_daily_drop_partition_reads_its_day_folder(clean_db, database_url, tmp_path):
    for day, n in (("2026-01-04", 1), ("2026-01-05", 2)):
        _write(tmp_path / "touchpoints" / day / "events.jsonl",
               [{"event_id": f"{day}-{i}", "event_type": "session",
                 "occurred_at": f"{day}T09:00:00Z", "email": None, "cost": 1.5}
                for i in range(n)])
    key = drop_key("touchpoints", "events")
    result = dg.materialize([_asset(drop_assets, key)], partition_key="2026-01-05",
                            resources=_resources(database_url, tmp_path))
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.partition == "2026-01-05"
    assert event.materialization.metadata["rows_loaded"].value == 2
    assert "2026-01-05" in DAILY.get_partition_keys()
    days = drop_days(tmp_path / "touchpoints", datetime(2026, 1, 3).date(),
                     datetime(2026, 1, 5).date())
    assert [(d.isoformat(), f.name if f else None) for d, f in days] == [
        ("2026-01-03", None), ("2026-01-04", "2026-01-04"), ("2026-01-05", "2026-01-05")]


def test_imap_asset_reconciles_each_folder_as_a_check(clean_db, database_url, tmp_path,
                                                       monkeypatch):
    from imap_tools import MailBoxUnencrypted

    monkeypatch.setenv("IMAP_PASSWORD", PASSWORD)
    email_key = raw_key("email", "messages")
    asset = _asset(ingest_assets, email_key)
    with pymap_server(tmp_path / "pymap.log") as port:
        with MailBoxUnencrypted("127.0.0.1", port).login(USER, PASSWORD) as box:
            box.folder.create("Deals")
            for n in range(3):
                box.append(f"From: a{n}@example.com\r\nTo: rep@salesops.test\r\nSubject: {n}\r\n"
                           f"Message-ID: <imap{n}@x>\r\n\r\nhello\r\n".encode(), "Deals",
                           dt=datetime.now(UTC))
        mailbox = ImapMailbox(host="127.0.0.1", port=port, security="plain", user=USER,
                              folders=["Deals", "INBOX"])
        resources = _resources(database_url, tmp_path, mailbox)
        first = dg.materialize([asset], resources=resources)
        check = _check(first, email_key, RECONCILIATION)
        assert check.passed
        assert check.metadata["folders"].value["Deals"] == {
            "on_server": 3, "loaded": 3, "quarantined": 0, "missing": 0,
            "uidvalidity": check.metadata["folders"].value["Deals"]["uidvalidity"],
            "reset": False}
        [event] = first.get_asset_materialization_events()
        assert event.materialization.metadata["rows_loaded"].value == 3

        with clean_db.begin() as conn:  # a message lost after loading
            conn.execute(sa.text("delete from raw.email__messages "
                                 "where record->>'subject' = '1'"))
        again = dg.materialize([asset], resources=resources, raise_on_error=False)
        check = _check(again, email_key, RECONCILIATION)
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        assert check.metadata["missing"].value == 1
        assert "Deals: 3 on the server, 2 loaded, 0 quarantined; 1 NOT LOADED" in (
            check.description)


def test_no_mailbox_configured_passes_the_reconciliation(clean_db, database_url, tmp_path):
    email_key = raw_key("email", "messages")
    result = dg.materialize([_asset(ingest_assets, email_key)],
                            resources=_resources(database_url, tmp_path))
    check = _check(result, email_key, RECONCILIATION)
    assert check.passed and "no IMAP mailbox configured" in check.description
