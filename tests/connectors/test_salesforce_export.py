"""Salesforce export: every column kept, Id as key, bad rows quarantined with a reason."""

from __future__ import annotations

import zipfile
from pathlib import Path

from connectors.salesforce_export import entity_name, read_export

CONTACTS = (
    "\ufeffId,FirstName,Email,Notes__c\r\n"
    "003A,Ann,ann@example.com,\"two\r\nlines, with comma\"\r\n"
    ",NoId,noid@example.com,x\r\n"
    "003B,Bob,bob@example.com\r\n"
    "003C,Cid,cid@example.com,\"quoted \"\"word\"\"\"\r\n"
)


def _export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Contact.csv").write_text(CONTACTS, encoding="utf-8", newline="")
    (folder / "User.csv").write_text("Id,Email\r\n005A,rep@example.com\r\n", encoding="utf-8")
    return folder


def test_reads_a_folder_keeping_custom_columns(tmp_path):
    batches = {b.entity: b for b in read_export(_export(tmp_path / "export"))}
    assert set(batches) == {"user", "contact"}  # missing objects are skipped
    contacts = batches["contact"]
    assert contacts.source == "salesforce" and contacts.origin.endswith("Contact.csv")
    assert [r["source_key"] for r in contacts.records] == ["003A", "003C"]
    assert contacts.records[0] == {"Id": "003A", "FirstName": "Ann", "Email": "ann@example.com",
                                   "Notes__c": "two\r\nlines, with comma", "source_key": "003A"}
    assert contacts.records[1]["Notes__c"] == 'quoted "word"'
    reasons = [r.reason for r in contacts.rejects]
    assert reasons == ["line 4: no Id", "line 5: 3 columns, header has 4"]
    assert contacts.rejects[1].record == {"line": 5, "Id": "003B", "FirstName": "Bob",
                                          "Email": "bob@example.com"}
    assert contacts.rejects[1].source_key == "003B"


def test_reads_a_zip_with_a_subfolder(tmp_path):
    folder = _export(tmp_path / "export")
    archive = tmp_path / "WE_00D_1.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for file in folder.iterdir():
            z.write(file, f"export/{file.name}")
    batches = list(read_export(archive, objects=["Contact"]))
    assert [(b.entity, len(b.records), len(b.rejects)) for b in batches] == [("contact", 2, 2)]
    assert batches[0].origin == f"{archive}!export/Contact.csv"


def test_chunks_large_files(tmp_path):
    rows = "".join(f"003{i:04d},n{i}\n" for i in range(25))
    (tmp_path / "Lead.csv").write_text("Id,LastName\n" + rows)
    sizes = [len(b.records) for b in read_export(tmp_path, objects=["Lead"], chunk_size=10)]
    assert sizes == [10, 10, 5]


def test_latin1_lines_are_read_as_windows_1252(tmp_path):
    (tmp_path / "Account.csv").write_bytes(b"Id,Name\n001A,Caf\xe9\n001B,Ok\n")
    records = next(read_export(tmp_path, objects=["Account"])).records
    assert [r["Name"] for r in records] == ["Café", "Ok"]  # a latin-1 line read as such


def test_entity_names():
    assert entity_name("OpportunityHistory") == "opportunity_history"
    assert entity_name("Custom_Object__c") == "custom_object__c"
