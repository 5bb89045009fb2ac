"""The HubSpot ingest asset reads the API when a token is set, keeping its cursors in ops."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from orchestration.defs.ingest import ingest_assets, raw_key
from orchestration.resources import Database, HubSpotApi, ImapMailbox, SourceFiles
from salesops.cursors import get_cursor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from hubspot_server import TOKEN, HubSpotServer  # noqa: E402


@pytest.fixture
def hubspot():
    server = HubSpotServer()
    for i in range(3):
        server.put("contacts", str(i + 1), 1_735_689_600_000 + i, email=f"c{i}@example.com")
    yield server
    server.close()


def test_hubspot_asset_reads_the_api_incrementally(clean_db, database_url, hubspot, tmp_path,
                                                   monkeypatch):
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    [asset] = [a for a in ingest_assets if raw_key("hubspot", "contacts") in a.keys]
    resources = {"database": Database(url=database_url),
                 "source_files": SourceFiles(root=str(tmp_path)),
                 "hubspot_api": HubSpotApi(base_url=hubspot.url), "imap_mailbox": ImapMailbox()}
    result = dg.materialize([asset], resources=resources)
    assert result.success
    [contacts] = [m for m in result.get_asset_materialization_events()
                  if m.asset_key == raw_key("hubspot", "contacts")]
    assert contacts.materialization.metadata["rows_loaded"].value == 3
    assert get_cursor(clean_db, "hubspot", "contacts") == {"modified_ms": 1_735_689_600_002}
    hubspot.requests.clear()
    assert dg.materialize([asset], resources=resources).success
    assert "POST /crm/v3/objects/contacts/search" in hubspot.requests
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from raw.hubspot__contacts")).scalar() == 3
