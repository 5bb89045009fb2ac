"""HubSpot list-response pages: results kept whole, id as key, bad pages quarantined."""

from __future__ import annotations

import json

from connectors.hubspot_files import read_folder


def test_reads_pages_in_order_and_quarantines_bad_ones(tmp_path):
    contacts = tmp_path / "contacts"
    contacts.mkdir()
    first = {"results": [{"id": "1", "properties": {"email": "a@example.com"},
                          "createdAt": "2025-01-01T00:00:00Z", "archived": False},
                         {"properties": {"email": "noid@example.com"}}],
             "paging": {"next": {"after": "2"}}}
    (contacts / "page-0001.json").write_text(json.dumps(first))
    (contacts / "page-0002.json").write_text('{"results": [{"id": 2, "properties": {}}]}')
    (contacts / "page-0003.json").write_text('{"results": [')
    batches = list(read_folder(tmp_path))
    assert [(b.source, b.entity) for b in batches] == [("hubspot", "contacts")]
    records, rejects = batches[0].records, batches[0].rejects
    assert [r["source_key"] for r in records] == ["1", "2"]
    assert records[0]["properties"] == {"email": "a@example.com"}
    assert [r.reason.split(":")[0] for r in rejects] == ["page-0001.json", "page-0003.json"]
    assert "has no id" in rejects[0].reason and "not a list response" in rejects[1].reason
