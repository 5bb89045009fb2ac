"""load_batch: one transaction per batch, COPY, no duplicates, nothing lost, nothing partial."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from salesops.loading import LoadFailed, fields_hash, load_batch
from salesops.models.raw import raw_records

CONTACTS = raw_records("salesforce", "contact")


@dataclass(frozen=True)
class Reject:
    source_key: str | None
    reason: str
    record: dict


def _contacts(n: int, suffix: str = "") -> list[dict]:
    return [{"Id": f"003{i:015d}", "Email": f"p{i}@example.com{suffix}", "Custom__c": "x",
             "source_key": f"003{i:015d}"} for i in range(n)]


def _scalar(engine: sa.Engine, sql: str, **params) -> object:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def test_load_counts_rows_and_records_the_batch(clean_db):
    result = load_batch(clean_db, "salesforce", "contact", "Contact.csv", _contacts(500),
                        [Reject(None, "line 7: 3 columns, header has 4", {"line": 7})])
    assert (result.rows_in, result.rows_loaded, result.rows_duplicate,
            result.rows_rejected) == (501, 500, 0, 1)
    with clean_db.connect() as conn:
        batch = conn.execute(sa.text("select * from ops.load_batches")).mappings().one()
        row = conn.execute(sa.text(f"select * from {CONTACTS} "
                                   "where source_key = '003000000000000007'")).mappings().one()
        reject = conn.execute(sa.text("select * from ops.rejected_rows")).mappings().one()
    assert batch["status"] == "loaded" and batch["finished_at"] is not None
    assert (batch["rows_in"], batch["rows_loaded"], batch["rows_rejected"]) == (501, 500, 1)
    assert row["batch_id"] == result.batch_id and row["source"] == "salesforce"
    assert row["record"] == {"Id": "003000000000000007", "Email": "p7@example.com",
                             "Custom__c": "x"}
    assert row["content_hash"] == uuid.UUID(fields_hash(row["record"]))
    assert (reject["batch_id"], reject["stage"], reject["reason"]) == (
        result.batch_id, "load", "line 7: 3 columns, header has 4")


def test_reloading_the_same_input_adds_nothing(clean_db):
    load_batch(clean_db, "salesforce", "contact", "a", _contacts(300))
    again = load_batch(clean_db, "salesforce", "contact", "a", _contacts(300))
    assert (again.rows_loaded, again.rows_duplicate) == (0, 300)
    changed = load_batch(clean_db, "salesforce", "contact", "b",
                         _contacts(300)[:10] + _contacts(5, suffix=".uk"))
    assert (changed.rows_loaded, changed.rows_duplicate) == (5, 10)
    assert _scalar(clean_db, "select count(*) from raw.salesforce__contact") == 305


def test_duplicates_within_one_batch_load_once(clean_db):
    result = load_batch(clean_db, "webforms", "submissions", "f", _contacts(3) * 2)
    assert (result.rows_loaded, result.rows_duplicate) == (3, 3)


def test_unusable_records_are_rejected_not_fatal(clean_db):
    records = [{"Id": "1", "source_key": "1"}, {"Id": "2"}, {"Id": "3", "source_key": " "},
               {"Id": "4", "source_key": "4", "when": object()},
               {"Id": "5", "source_key": "5", "note": "nul\x00inside"}]
    result = load_batch(clean_db, "salesforce", "account", "x", records)
    assert (result.rows_loaded, result.rows_rejected) == (2, 3)
    with clean_db.connect() as conn:
        reasons = conn.execute(sa.text("select reason from ops.rejected_rows order by reason")
                               ).scalars().all()
        note = conn.execute(sa.text(f"select record->>'note' from "
                                    f"{raw_records('salesforce', 'account')} "
                                    "where source_key = '5'")).scalar()
    assert reasons[:2] == ["no source_key", "no source_key"]
    assert reasons[2].startswith("not JSON-serialisable")
    assert note == "nulinside"


def _failing(after: int) -> Iterator[dict]:
    yield from _contacts(after)
    raise RuntimeError("source went away")


@pytest.mark.parametrize("where", ["records", "rejects"])
def test_a_failure_mid_batch_leaves_nothing_but_the_failed_batch(clean_db, where):
    load_batch(clean_db, "salesforce", "contact", "earlier", _contacts(2))

    def bad_rejects() -> Iterator[Reject]:
        yield Reject(None, "bad line", {})
        raise RuntimeError("source went away")

    records = _failing(1000) if where == "records" else _contacts(1000)
    rejects = bad_rejects() if where == "rejects" else []
    with pytest.raises(LoadFailed, match="source went away") as info:
        load_batch(clean_db, "salesforce", "contact", "broken", records, rejects)
    with clean_db.connect() as conn:
        batch = conn.execute(sa.text("select status, error from ops.load_batches "
                                     "where batch_id = :b"), {"b": info.value.batch_id}).one()
        raw_rows = conn.execute(sa.text("select count(*) from raw.salesforce__contact")).scalar()
        rejected = conn.execute(sa.text("select count(*) from ops.rejected_rows")).scalar()
    assert batch.status == "failed" and "RuntimeError: source went away" in batch.error
    assert raw_rows == 2 and rejected == 0


def test_unknown_entity_is_refused_before_any_write(clean_db):
    with pytest.raises(LoadFailed, match="no raw table"):
        load_batch(clean_db, "salesforce", "nonsense", None, _contacts(1))
    assert _scalar(clean_db, "select count(*) from ops.load_batches") == 0


@pytest.mark.parametrize("preloaded", [False, True], ids=["straight COPY", "via staging"])
def test_copy_escapes_keys_and_json_on_both_paths(clean_db, preloaded):
    """Tabs, newlines and backslashes in keys and values arrive as they were."""
    odd = {"source_key": "a\\b\tc\nd\re", "Note": 'C:\\path\t"quoted"\n\\n', "Ü": "ß"}
    plain = _contacts(2)
    if preloaded:
        load_batch(clean_db, "salesforce", "contact", "a", plain)
    result = load_batch(clean_db, "salesforce", "contact", "b", [*plain, odd])
    assert (result.rows_loaded, result.rows_duplicate) == ((1, 2) if preloaded else (3, 0))
    with clean_db.connect() as conn:
        row = conn.execute(sa.text("select source_key, record, content_hash"
                                   f" from {CONTACTS} where record ? 'Note'")).one()
    assert row.source_key == odd["source_key"]
    assert row.record == {"Note": odd["Note"], "Ü": "ß"}
    assert row.content_hash == uuid.UUID(fields_hash(row.record))
