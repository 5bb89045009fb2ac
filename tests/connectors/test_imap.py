"""IMAP against a real server: incremental by UIDVALIDITY + UID, reconciled per folder, and a
connection cut mid-fetch that loses nothing and loads nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from imap_server import PASSWORD, USER, CuttingProxy, pymap_server
from imap_tools import MailBoxUnencrypted

from connectors.imap import FolderCursor, ImapAccount, ImapConnectionLost, ImapError
from orchestration.ingestion import IMAP_CURSOR_SOURCE, imap_cursor_entity, sync_imap
from salesops.cursors import get_cursor, set_cursor


@pytest.fixture(scope="module")
def imap_port(tmp_path_factory):
    with pymap_server(tmp_path_factory.mktemp("imap") / "pymap.log") as port:
        yield port


def _account(port: int, *folders: str) -> ImapAccount:
    return ImapAccount("127.0.0.1", USER, PASSWORD, port=port, security="plain",
                       folders=folders)


def _message(n: int, to: str = "ann@example.com", body_size: int = 200) -> bytes:
    return (f"From: Rep <rep@salesops.test>\r\nTo: {to}\r\nSubject: Offer {n}\r\n"
            f"Message-ID: <m{n}@salesops.test>\r\nDate: Tue, 04 Mar 2025 10:15:00 +0100\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{'x' * body_size}\r\n").encode()


def _append(port: int, folder: str, messages: list[bytes],
            when: datetime | None = None) -> None:
    with MailBoxUnencrypted("127.0.0.1", port).login(USER, PASSWORD) as box:
        if not box.folder.exists(folder):
            box.folder.create(folder)
        for raw in messages:
            box.append(raw, folder, dt=when or datetime.now(UTC))


def _raw_uids(engine: sa.Engine, folder: str) -> list[int]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select (record->'imap'->>'uid')::int from raw.email__messages "
            "where record->'imap'->>'folder' = :f order by 1"), {"f": folder}).scalars().all()


def test_folders_load_incrementally_and_reconcile(clean_db, imap_port):
    _append(imap_port, "Deals 2025", [_message(i) for i in range(3)] + [b"not a message\r\n"])
    _append(imap_port, "Sent Items", [_message(10 + i) for i in range(2)])
    account = _account(imap_port, "Deals 2025", "Sent Items")

    first = sync_imap(clean_db, account, chunk_size=2)
    assert [(r.folder, r.on_server, r.loaded, r.quarantined, r.missing) for r in first] == [
        ("Deals 2025", 4, 3, 1, []), ("Sent Items", 2, 2, 0, [])]
    assert first[0].totals.rows_loaded == 3 and first[0].totals.rows_rejected == 1
    deals_uids = _raw_uids(clean_db, "Deals 2025")
    cursor = get_cursor(clean_db, IMAP_CURSOR_SOURCE, imap_cursor_entity(account, "Deals 2025"))
    assert cursor["uidvalidity"] == first[0].uidvalidity and cursor["last_uid"] > max(deals_uids)

    _append(imap_port, "Deals 2025", [_message(20), _message(21)])
    second = sync_imap(clean_db, account, chunk_size=2)
    assert [(r.totals.rows_in, r.totals.rows_loaded) for r in second] == [(2, 2), (0, 0)]
    assert [(r.on_server, r.loaded, r.quarantined, r.ok) for r in second] == [
        (6, 5, 1, True), (2, 2, 0, True)]
    with clean_db.connect() as conn:
        subjects = conn.execute(sa.text(
            "select record->>'subject' from raw.email__messages "
            "where record->'imap'->>'folder' = 'Deals 2025' order by id")).scalars().all()
    assert subjects == ["Offer 0", "Offer 1", "Offer 2", "Offer 20", "Offer 21"]


def test_a_new_uidvalidity_reads_the_folder_again_without_duplicates(clean_db, imap_port):
    _append(imap_port, "Renewals", [_message(30 + i) for i in range(3)])
    account = _account(imap_port, "Renewals")
    [first] = sync_imap(clean_db, account)
    assert first.totals.rows_loaded == 3
    with clean_db.begin() as conn:  # as if the server had renumbered the folder
        set_cursor(conn, IMAP_CURSOR_SOURCE, imap_cursor_entity(account, "Renewals"),
                   FolderCursor(first.uidvalidity + 1, 10**6).to_json())
    [again] = sync_imap(clean_db, account)
    assert again.reset and (again.totals.rows_in, again.totals.rows_loaded) == (3, 0)
    assert again.totals.rows_duplicate == 3 and again.ok


def test_since_leaves_older_messages_unloaded_and_says_so(clean_db, imap_port):
    old = datetime(2020, 1, 15, tzinfo=UTC)
    _append(imap_port, "Archive", [_message(40), _message(41)], when=old)
    _append(imap_port, "Archive", [_message(42)])
    account = _account(imap_port, "Archive")
    [report] = sync_imap(clean_db, account, since=date.today() - timedelta(days=2))
    assert (report.on_server, report.loaded, len(report.missing)) == (3, 1, 2)
    assert "2 NOT LOADED" in report.describe() and "--full" in report.describe()
    [full] = sync_imap(clean_db, account, full=True)
    assert (full.totals.rows_loaded, full.totals.rows_duplicate, full.missing) == (2, 1, [])


def test_a_connection_cut_mid_fetch_keeps_what_landed_and_resumes(clean_db, imap_port):
    _append(imap_port, "Flaky", [_message(50 + i, body_size=3000) for i in range(10)])
    proxy = CuttingProxy(imap_port, limit=14_000)
    try:
        with pytest.raises(ImapConnectionLost, match="run the ingest again"):
            sync_imap(clean_db, _account(proxy.port, "Flaky"), chunk_size=2)
    finally:
        proxy.close()
    assert proxy.cuts == 1
    kept = _raw_uids(clean_db, "Flaky")
    account = _account(imap_port, "Flaky")
    cursor = get_cursor(clean_db, IMAP_CURSOR_SOURCE, imap_cursor_entity(account, "Flaky"))
    assert 0 < len(kept) < 10 and len(kept) % 2 == 0  # whole chunks only
    assert cursor["last_uid"] == max(kept)  # never past what was loaded

    [report] = sync_imap(clean_db, account, chunk_size=2)
    assert (report.totals.rows_loaded, report.totals.rows_duplicate) == (10 - len(kept), 0)
    assert (report.on_server, report.loaded, report.ok) == (10, 10, True)


def test_wrong_password_and_unknown_folder_are_clear_errors(clean_db, imap_port):
    bad = ImapAccount("127.0.0.1", USER, "wrong", port=imap_port, security="plain")
    with pytest.raises(ImapError, match="login as sales .* failed; check the user and password"):
        sync_imap(clean_db, bad)
    with pytest.raises(ImapError, match="no IMAP folder 'Nope' \\(folders: .*INBOX"):
        sync_imap(clean_db, _account(imap_port, "Nope"))
    with pytest.raises(ImapError, match="cannot reach IMAP server"):
        sync_imap(clean_db, ImapAccount("127.0.0.1", USER, PASSWORD, port=1, security="plain"))
