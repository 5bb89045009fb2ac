"""The Salesforce export's raw tables: one text column per field, added when first seen;
migration c3f8a1e6d2b9 turns stored jsonb records into those columns and back, and
9d4b7e1a3c58 re-hashes them with `fields_hash` (a uuid) and back."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from connectors.salesforce_export import read_export
from orchestration.ingestion import load_batches
from salesops import migrate
from salesops.db import get_engine
from salesops.loading import LoadFailed, canonical_json, content_hash, fields_hash, load_batch
from salesops.models.raw import raw_records

CONTACTS = raw_records("salesforce", "contact")


def _export(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Contact.csv").write_text(body, encoding="utf-8")
    return folder


def _stored(engine: sa.Engine) -> dict[str, tuple[str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"select source_key, content_hash, record from {CONTACTS}"))
        return {key: (digest, record) for key, digest, record in rows}


def test_column_order_does_not_change_the_hash(clean_db, tmp_path):
    """The same records in another column order (and with names and values JSON must
    escape or not) are the same versions; a changed value is a new one."""
    first = _export(tmp_path / "a", "Id,Näme,Zähler__c,Note\n003A,Zoë,1,a\\b\n003B,Bob,,x\n")
    assert load_batches(clean_db, read_export(first))["contact"].rows_loaded == 2
    before = _stored(clean_db)
    assert before["003A"][1] == {"Id": "003A", "Näme": "Zoë", "Zähler__c": "1",
                                 "Note": "a\\b"}
    assert all(digest == uuid.UUID(fields_hash(record)) for digest, record in before.values())
    moved = _export(tmp_path / "b", "Note,Zähler__c,Id,Näme\na\\b,1,003A,Zoë\nx,,003B,Bob\n"
                    "y,2,003B,Bob\n")
    totals = load_batches(clean_db, read_export(moved))["contact"]
    assert (totals.rows_loaded, totals.rows_duplicate) == (1, 2)


def test_a_new_field_becomes_a_column_and_older_rows_lack_it(clean_db, tmp_path):
    load_batches(clean_db, read_export(_export(tmp_path / "a", "Id,Name\n003A,Ann\n")))
    later = _export(tmp_path / "b", "Id,Name,Fresh_Field__c\n003A,Ann,\n003C,Cid,new\n")
    totals = load_batches(clean_db, read_export(later))["contact"]
    # a new column, empty in 003A: the same version (fields_hash leaves empty fields out)
    assert (totals.rows_loaded, totals.rows_duplicate) == (1, 1)
    with clean_db.connect() as conn:
        rows = conn.execute(sa.text(
            'select source_key, "Fresh_Field__c" from raw.salesforce__contact '
            "order by id")).all()
    assert [tuple(r) for r in rows] == [("003A", None), ("003C", "new")]
    # the records path stores and hashes the same way: the CSV rows are duplicates
    again = load_batch(clean_db, "salesforce", "contact", "records",
                       [{"source_key": "003C", "Id": "003C", "Name": "Cid",
                         "Fresh_Field__c": "new"}])
    assert (again.rows_loaded, again.rows_duplicate) == (0, 1)


def test_a_field_that_cannot_name_a_column_fails_the_batch_clearly(clean_db):
    with pytest.raises(LoadFailed, match="'loaded_at' cannot be a column .* rename it"):
        load_batch(clean_db, "salesforce", "contact", "x",
                   [{"source_key": "1", "Id": "1", "loaded_at": "today"}])
    assert _stored(clean_db) == {}


def _downgrade(engine: sa.Engine, revision: str) -> None:
    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migration_moves_jsonb_records_into_columns_and_back(make_database):
    url = make_database("salesops_rawcols")
    engine = get_engine(url)
    _downgrade(engine, "e7b4d2a9c1f6")
    record = {"Id": "003A", "Email": "ann@example.com", "Custom__c": "", "Odd \"name\"": "v"}
    digest = content_hash(canonical_json(record))
    batch = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into raw.salesforce__contact (batch_id, source, source_key, content_hash,"
            " record) values (:b, 'salesforce', '003A', :h, cast(:r as jsonb))"),
            {"b": batch, "h": digest, "r": canonical_json(record).decode()})
    migrate.upgrade(url)
    assert _stored(engine) == {"003A": (uuid.UUID(fields_hash(record)), record)}
    with engine.connect() as conn:
        assert conn.execute(sa.text('select "Odd ""name""" from raw.salesforce__contact')
                            ).scalar() == "v"
    # the loader sees the migrated row as the version it is
    again = load_batch(engine, "salesforce", "contact", "x", [{**record, "source_key": "003A"}])
    assert (again.rows_loaded, again.rows_duplicate) == (0, 1)
    _downgrade(engine, "e7b4d2a9c1f6")
    with engine.connect() as conn:  # the canonical JSON's SHA-256 again, made in SQL
        assert tuple(conn.execute(sa.text(
            "select record, content_hash from raw.salesforce__contact")).one()) == (record, digest)
    migrate.upgrade(url)
    engine.dispose()


def test_a_file_loaded_before_the_rehash_adds_nothing_after_it(make_database, tmp_path):
    """Rows stored with the old hash (SHA-256 hex of the canonical JSON) at c3f8a1e6d2b9 get
    `fields_hash` from the migration's SQL, so re-loading their file adds nothing; versions
    that differed only in an empty against an absent field collapse into the newest."""
    url = make_database("salesops_rawhash")
    engine = get_engine(url)
    _downgrade(engine, "c3f8a1e6d2b9")
    folder = _export(tmp_path / "e", 'Id,Näme,Zähler__c,"Odd ""x"""\n003A,Zoë,1,a\\b\n'
                     '003B,Bob,,\n003C,"Cid, ""C""",2,\n')
    records = [{k: v for k, v in r.items() if k != "source_key"}
               for r in next(read_export(folder)).records]
    older = {"Id": "003B", "Näme": "Bob"}  # 003B before its file had the other two columns
    names = sorted({name for record in records for name in record})
    with engine.begin() as conn:
        conn.execute(sa.text("alter table raw.salesforce__contact " + ", ".join(
            f'add column "{n.replace(chr(34), chr(34) * 2)}" text' for n in names)))
        for record in [older, *records]:  # as the loader stored them before
            cols = [f'"{n.replace(chr(34), chr(34) * 2)}"' for n in record]
            conn.execute(sa.text(
                "insert into raw.salesforce__contact (batch_id, source, source_key, "
                f"content_hash, {', '.join(cols)}) values (:b, 'salesforce', :k, :h, "
                + ", ".join(f":v{i}" for i in range(len(cols))) + ")"),
                {"b": uuid.uuid4(), "k": record["Id"],
                 "h": content_hash(canonical_json(record)),
                 **{f"v{i}": v for i, v in enumerate(record.values())}})
    migrate.upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"select source_key, content_hash, record, id from {CONTACTS} order by id")).all()
    assert [(key, digest) for key, digest, _, _ in rows] == [
        (r["Id"], uuid.UUID(fields_hash(r))) for r in records]  # older 003B collapsed
    assert [record for _, _, record, _ in rows] == records
    again = load_batches(engine, read_export(folder))["contact"]
    assert (again.rows_loaded, again.rows_duplicate) == (0, 3)
    changed = _export(tmp_path / "f", "Id,Näme\n003A,Zoë\n003B,Bob\n")  # 003A lost fields
    again = load_batches(engine, read_export(changed))["contact"]
    assert (again.rows_loaded, again.rows_duplicate) == (1, 1)
    engine.dispose()
