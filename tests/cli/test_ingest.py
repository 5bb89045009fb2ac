"""`salesops ingest`: load a source, list its rejects, fix them in a CSV, replay exactly them."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_cli_errors import one_line_error, salesops
from typer.testing import CliRunner

from salesops import cli
from salesops.db import get_engine
from salesops.errors import SalesopsError
from salesops.models.raw import raw_records
from salesops.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from hubspot_server import TOKEN, HubSpotServer  # noqa: E402
from imap_server import PASSWORD, USER, pymap_server  # noqa: E402

PAYLOAD = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def db(make_database) -> str:
    return make_database("salesops_ingest_cli")


@pytest.fixture(scope="module", autouse=True)
def ingest_commands():
    """The core command line with the groups of the entry points (as `main` adds them)."""
    if not any(group.name == "ingest" for group in cli.app.registered_groups):
        cli.add_plugin_commands()


class Result:
    def __init__(self, returncode: int, stdout: str, error: str = "") -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, error


def run(tmp_path: Path, db: str, *args: str, **env: str) -> Result:
    """`salesops ingest ...` in this process (a subprocess costs seconds on a busy machine);
    a SalesopsError is what `main` prints as its one line."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["ingest", *args],
                                    env={"DATABASE_URL": db, "SALESOPS_DATA_DIR":
                                         str(tmp_path / "data"), **env})
    finally:
        get_settings.cache_clear()
    if isinstance(result.exception, SalesopsError):
        return Result(1, result.stdout, f"error: {result.exception}")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return Result(result.exit_code, result.stdout, result.stderr)


def error(result: Result) -> str:
    assert result.returncode == 1 and result.stderr.startswith("error:"), result.stdout
    return result.stderr


def test_load_list_fix_and_replay_exactly_the_rejects(tmp_path, db):
    export = tmp_path / "export"
    export.mkdir()
    with (export / "Contact.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["Id", "FirstName", "Email", "Notes__c"],
                                 ["003A", "Ann", "ann@example.com", "ok"],
                                 ["", "Nia", "nia@example.com", PAYLOAD],
                                 ["003B", "Bob", "bob@example.com", "x", "stray"]])
    loaded = run(tmp_path, db, "salesforce", "--path", str(export))
    assert loaded.returncode == 0, loaded.stderr
    assert "salesforce.contact: 1 new, 0 already loaded, 2 quarantined" in loaded.stdout

    listed = run(tmp_path, db, "rejects", "list", "--source", "salesforce")
    assert "line 3: no Id" in listed.stdout and "line 4: 5 columns, header has 4" in listed.stdout

    out = tmp_path / "rejects.csv"
    assert run(tmp_path, db, "rejects", "list", "--out", str(out)).returncode == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["FirstName"] for r in rows] == ["Nia", "Bob"]
    assert rows[0]["Notes__c"] == "'" + PAYLOAD  # never re-exported as a live formula
    assert rows[1]["_extra"] == '["stray"]'
    rows[0]["Id"] = "003N"
    rows[1]["_extra"] = ""
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    replayed = run(tmp_path, db, "rejects", "replay", "--from-file", str(out))
    assert replayed.returncode == 0, replayed.stderr
    assert "salesforce.contact: replayed 2 in batch" in replayed.stdout
    assert "2 loaded, 2 resolved" in replayed.stdout
    with get_engine(db).connect() as conn:
        keys = conn.execute(sa.text("select source_key, record->>'Notes__c' from "
                                    f"{raw_records('salesforce', 'contact')} order by 1")).all()
        open_rejects = conn.execute(sa.text(
            "select count(*) from ops.rejected_rows where resolved_at is null")).scalar()
    assert keys == [("003A", "ok"), ("003B", "x"), ("003N", PAYLOAD)] and open_rejects == 0
    assert "no open rejects" in run(tmp_path, db, "rejects", "list").stdout
    message = error(run(tmp_path, db, "rejects", "replay", "--from-file", str(out)))
    assert "no open reject with id" in message


def test_user_mistakes_are_one_line(tmp_path, db):
    # once through the real command line: one line on stderr, no traceback
    assert "no such file or folder" in one_line_error(salesops(
        "ingest", "salesforce", "--path", str(tmp_path / "nope"), data_dir=tmp_path / "data",
        env={"DATABASE_URL": db}))
    assert "--batch 'x' is not a batch id" in error(
        run(tmp_path, db, "rejects", "list", "--batch", "x"))
    assert "say what to replay" in error(run(tmp_path, db, "rejects", "replay"))
    assert "IMAP_PASSWORD" in error(
        run(tmp_path, db, "imap", "--host", "127.0.0.1", "--user", "u"))
    bad = tmp_path / "bad.csv"
    bad.write_text("Id,Name\n1,x\n")
    assert "no _reject_id column" in error(
        run(tmp_path, db, "rejects", "replay", "--from-file", str(bad)))


def test_imap_reports_each_folder(tmp_path, db):
    from imap_tools import MailBoxUnencrypted

    with pymap_server(tmp_path / "pymap.log") as port:
        with MailBoxUnencrypted("127.0.0.1", port).login(USER, PASSWORD) as box:
            box.append(b"From: a@example.com\r\nSubject: hi\r\nMessage-ID: <cli1@x>\r\n\r\nhi\r\n",
                       "INBOX")
        args = ("imap", "--host", "127.0.0.1", "--port", str(port), "--security", "plain",
                "--user", USER)
        first = run(tmp_path, db, *args, IMAP_PASSWORD=PASSWORD)
        assert first.returncode == 0, first.stderr
        assert "email.messages: 1 new" in first.stdout
        assert "INBOX: 1 on the server, 1 loaded, 0 quarantined" in first.stdout
        again = run(tmp_path, db, *args, "--since", "2020-01-01", IMAP_PASSWORD=PASSWORD)
        assert "nothing to load" in again.stdout and "1 loaded" in again.stdout
        assert "--since 'soon' is not a date" in error(
            run(tmp_path, db, *args, "--since", "soon", IMAP_PASSWORD=PASSWORD))


def test_hubspot_from_the_command_line(tmp_path, db):
    server = HubSpotServer()
    try:
        server.put("contacts", "1", 1_735_689_600_000, email="a@example.com")
        server.put("deals", "2", 1_735_689_600_000, dealname="D")
        env = {"HUBSPOT_TOKEN": TOKEN, "HUBSPOT_BASE_URL": server.url}
        first = run(tmp_path, db, "hubspot", "--entity", "contacts", "--entity", "deals", **env)
        assert first.returncode == 0, first.stdout
        assert "hubspot.contacts: 1 new" in first.stdout and "hubspot.deals: 1 new" in first.stdout
        server.requests.clear()
        again = run(tmp_path, db, "hubspot", "--entity", "contacts", "--since", "2025-01-01",
                    **env)
        assert "hubspot.contacts: 0 new, 1 already loaded" in again.stdout
        assert server.requests == ["POST /crm/v3/objects/contacts/search"]
        assert "unknown HubSpot entity 'tickets'" in error(
            run(tmp_path, db, "hubspot", "--entity", "tickets", **env))
        assert "HUBSPOT_TOKEN" in error(run(tmp_path, db, "hubspot", HUBSPOT_TOKEN=""))
    finally:
        server.close()
