"""The bulk path of a Salesforce export (each batch read and hashed by Polars, then COPYed
into the raw table's text columns) stores the same raw rows and content hashes as the
careful path (Python's csv + `load_batch`), and hands every batch it cannot take as it is
to the careful path."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.records import CsvBatch, RecordBatch
from connectors.salesforce_export import _rfc4180, read_export
from orchestration.ingestion import load_batches
from salesops.loading import fields_hash, load_batch, load_csv_batch
from salesops.models.raw import raw_records
from salesops.rejects import list_rejects

# Quoted newlines, doubled quotes, backslashes, tabs, control characters, non-ASCII names
# and values, an empty quoted field, a formula payload, a field with a lone CR inside quotes.
TRICKY = (
    '"Id","Name","Notes__c","Zähler__c","a"\r\n'
    '"003A","Ann","two\r\nlines, ""quoted"" \\n C:\\path\t","ß😀",""\r\n'
    '"003B","=cmd|\' /C calc\'!A0","ctl \x01\x1f\x7f \u2028 end","",x\r\n'
    '003C,Cid,"cr\rinside",,"{""json"": 1}"\r\n'
)

CONTACTS = raw_records("salesforce", "contact")


def _write(folder: Path, body: str | bytes, name: str = "Contact.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(body.encode() if isinstance(body, str) else body)
    return folder


def _raw(engine: sa.Engine) -> set[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select source_key, content_hash, record::text "
                                    f"from {CONTACTS}")).all()
    return {tuple(row) for row in rows}


def _parsed(batch: CsvBatch) -> bool:
    """Whether the batch was read in Python (the careful path) at all."""
    return "_parsed" in batch.__dict__


def test_bulk_rows_are_the_careful_rows(clean_db, tmp_path):
    batch, = read_export(_write(tmp_path / "e", TRICKY))
    assert isinstance(batch, CsvBatch) and batch.rows == 3
    result = load_csv_batch(clean_db, batch)
    assert not _parsed(batch)  # PostgreSQL did all of it
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate) == (3, 3, 0)
    bulk = _raw(clean_db)

    expected = {}
    for record in batch.records:  # what the careful path makes of the same bytes
        body = {k: v for k, v in record.items() if k != "source_key"}
        expected[record["source_key"]] = (uuid.UUID(fields_hash(body)), body)
    with clean_db.connect() as conn:
        stored = conn.execute(sa.text("select source_key, content_hash, record "
                                      f"from {CONTACTS}")).all()
    assert {k: (h, r) for k, h, r in stored} == expected
    assert expected["003C"][1]["Notes__c"] == "cr\rinside"

    again = load_batch(clean_db, "salesforce", "contact", "careful", batch.records)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 3)  # nothing looks new
    twice = load_csv_batch(clean_db, next(read_export(tmp_path / "e")))
    assert (twice.rows_loaded, twice.rows_duplicate) == (0, 3)
    assert _raw(clean_db) == bulk


def test_a_changed_record_is_a_new_version_and_the_rest_duplicates(clean_db, tmp_path):
    folder = _write(tmp_path / "e", "Id,Name\n003A,Ann\n003B,Bob\n")
    load_batches(clean_db, read_export(folder))
    _write(folder, "Id,Name\n003A,Ann\n003B,Bobby\n003C,Cid\n")
    batch, = read_export(folder)
    result = load_csv_batch(clean_db, batch)
    assert not _parsed(batch)
    assert (result.rows_loaded, result.rows_duplicate) == (2, 1)
    with clean_db.connect() as conn:
        names = conn.execute(sa.text(f"select record->>'Name' from {CONTACTS} "
                                     "where source_key = '003B' order by id")).scalars().all()
    assert names == ["Bob", "Bobby"]


def test_only_the_batch_postgres_cannot_read_goes_the_careful_way(clean_db, tmp_path):
    rows = [f"003{i:03d},n{i}\n" for i in range(12)]
    rows[5] = "003005,short,extra\n"  # batch 2: a wrong column count
    rows[9] = "003009,Jos\xe9\n"  # batch 3: a latin-1 line
    body = b"Id,Name\n" + "".join(rows).replace("Jos\xe9", "JOSE").encode()
    body = body.replace(b"JOSE", "José".encode("latin-1"))
    batches = list(read_export(_write(tmp_path / "e", body), chunk_size=4))
    assert [b.rows for b in batches] == [4, 4, 4]
    totals = load_batches(clean_db, batches)["contact"]
    assert [_parsed(b) for b in batches] == [False, True, True]
    assert (totals.rows_loaded, totals.rows_rejected, totals.batches) == (11, 1, 3)
    assert [r.reason for r in list_rejects(clean_db, "salesforce")] == [
        "line 7: 3 columns, header has 2"]  # the line in the file, not in the batch
    with clean_db.connect() as conn:
        name = conn.execute(sa.text(f"select record->>'Name' from {CONTACTS} "
                                    "where source_key = '003009'")).scalar()
    assert name == "José"


@pytest.mark.parametrize(("row", "reason"), [
    ("003B,Bob\n", "line 3: 2 columns"),  # too few: a reader that pads it stores Title ''
    ('"003B","Bob, Jr."\n', "line 3: 2 columns"),  # too few, a delimiter inside quotes
    ('"003B","Bob","a\nb",x\n', "line 4: 4 columns"),  # too many, over two lines
    ("\n", None)])  # a blank line, which the careful path passes over
def test_a_row_of_the_wrong_width_goes_the_careful_way(clean_db, tmp_path, row, reason):
    body = 'Id,Name,Title\n003A,"Ann, Sr.",CEO\n' + row + "003C,Cid,\n"
    batch, = read_export(_write(tmp_path / "e", body))
    result = load_csv_batch(clean_db, batch)
    assert _parsed(batch) and result.rows_loaded == 2
    assert [r.reason for r in list_rejects(clean_db, "salesforce")] == (
        [f"{reason}, header has 3"] if reason else [])


def test_keys_that_need_a_trim_go_the_careful_way(clean_db, tmp_path):
    batch, = read_export(_write(tmp_path / "e", "Id,Name\n 003A ,Ann\n,NoId\n"))
    result = load_csv_batch(clean_db, batch)
    assert _parsed(batch) and (result.rows_loaded, result.rows_rejected) == (1, 1)
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select source_key from raw.salesforce__contact")
                            ).scalar() == "003A"


def test_quoting_postgres_reads_otherwise_is_read_in_python_from_there(clean_db, tmp_path):
    body = 'Id,Name\n003A,"Ann"\n003B,Bo"b"by\n003C,ok\n'  # a quote inside an unquoted field
    batches = list(read_export(_write(tmp_path / "e", body), chunk_size=1))
    assert [type(b) for b in batches] == [CsvBatch, RecordBatch, RecordBatch]
    assert batches[1].records[0]["Name"] == 'Bo"b"by'  # as Python's csv reads it
    totals = load_batches(clean_db, batches)["contact"]
    assert totals.rows_loaded == 3


def test_a_file_cut_inside_quotes_quarantines_its_last_row(clean_db, tmp_path):
    body = 'Id,Name\n003A,Ann\n003B,Bob\n003C,"cut sho'
    batches = list(read_export(_write(tmp_path / "e", body), chunk_size=2))
    assert [type(b) for b in batches] == [CsvBatch, RecordBatch]
    totals = load_batches(clean_db, batches)["contact"]
    assert (totals.rows_loaded, totals.rows_rejected) == (2, 1)
    assert list_rejects(clean_db, "salesforce")[0].reason.startswith("line 4: the file ends")


def test_a_wide_file_loads_in_bulk(clean_db, tmp_path):
    names = ["Id", *(f"Field_{i:03d}__c" for i in range(150))]
    values = ["003A", *(f"v{i}" for i in range(150))]
    batch, = read_export(_write(tmp_path / "e", ",".join(names) + "\n" + ",".join(values)))
    assert load_csv_batch(clean_db, batch).rows_loaded == 1 and not _parsed(batch)
    with clean_db.connect() as conn:
        record = conn.execute(sa.text(f"select record from {CONTACTS}")).scalar()
    assert record == dict(zip(names, values, strict=True))


@pytest.mark.parametrize(("data", "same"), [
    (b'a,"b"\n', True), (b'"""abc",x\n', True), (b'a,"",b\n', True),
    (b'"a",\r\n"b"\r\n', True), (b'"a""b",c\n', True), (b'a,"two\nlines"\n', True),
    (b'a,5" disk\n', False), (b'a,Bo"b"by\n', False), (b'"a"x,b\n', False),
    (b' "a",b\n', False), (b'a,"open\n', False)])
def test_quotes_both_parsers_read_alike(data, same):
    assert _rfc4180(data, ",") is same
    assert _rfc4180(data.replace(b",", b";"), ";") is same


def test_pipelined_batches_land_in_file_order(clean_db, tmp_path):
    """The next batch is COPY'd while the last one is written, but batches commit in order:
    a later batch's rows have greater ids and load times, so the newest version wins."""
    body = "Id,Name\n" + "".join(f"003{i:03d},n{i}\n" for i in range(10)) + "003001,again\n"
    batches = list(read_export(_write(tmp_path / "e", body), chunk_size=3))
    totals = load_batches(clean_db, batches)["contact"]
    assert (totals.batches, totals.rows_loaded) == (4, 11)
    with clean_db.connect() as conn:
        spans = conn.execute(sa.text(
            "select min(w.id), max(w.id), min(w.loaded_at), max(w.loaded_at) "
            "from raw.salesforce__contact w join ops.load_batches b using (batch_id) "
            "where b.status = 'loaded' group by b.batch_id order by b.started_at")).all()
        newest = conn.execute(sa.text(
            f"select distinct on (source_key) record->>'Name' from {CONTACTS} "
            "where source_key = '003001' order by source_key, id desc")).scalar()
    assert [tuple(s) for s in spans] == sorted(tuple(s) for s in spans)
    assert all(a[1] < b[0] and a[3] <= b[2] for a, b in zip(spans, spans[1:], strict=False))
    assert newest == "again"


def test_a_failed_batch_stops_the_run_and_the_staged_one_leaves_no_trace(clean_db, tmp_path):
    from salesops.loading import LoadFailed

    def broken() -> list:
        raise RuntimeError("unreadable")

    good, staged = read_export(_write(tmp_path / "e", "Id,Name\n003A,Ann\n003B,Bob\n"),
                               chunk_size=1)
    bad = CsvBatch("salesforce", "contact", "bad.csv", b"x,y\n", 1, ["source_key", "Id"], ",",
                   "Id", parse=broken)  # not one PostgreSQL may read: the parser is asked
    with pytest.raises(LoadFailed, match="unreadable"):
        load_batches(clean_db, [good, bad, staged])
    with clean_db.connect() as conn:
        batches = conn.execute(sa.text("select origin, status from ops.load_batches "
                                       "order by started_at")).all()
        keys = conn.execute(sa.text("select source_key from raw.salesforce__contact")
                            ).scalars().all()
    assert [status for _, status in batches] == ["loaded", "failed"]
    assert keys == ["003A"]
