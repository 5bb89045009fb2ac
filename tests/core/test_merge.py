"""merge_all on demo data: plausible counts, one contact per person, idempotent, rejects kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors import hubspot_files, salesforce_export, touchpoints, webforms
from salesops.loading import load_batch
from salesops.merge import MergeCounts, merge_all
from salesops.models.crm import FULL_NAME
from salesops.models.raw import raw_records
from salesops.security.crypto import process_cipher
from salesops.security.sealed import phone_index

#: Hand-made records on top of the demo data: one person in three sources, dirty values.
EXTRA = {
    ("salesforce", "contact"): [{
        "Id": "003TEST00000000001", "FirstName": "Jane", "LastName": "Doe",
        "Email": " Jane.Doe+crm@Example.COM ", "OwnerId": "", "AccountId": "",
        "source_key": "003TEST00000000001"}],
    ("hubspot", "contacts"): [{
        "id": "990001", "properties": {"email": "jane.doe@example.com", "firstname": "Janie",
                                       "jobtitle": "CFO", "lifecyclestage": "opportunity"},
        "createdAt": "2025-01-02T03:04:05Z", "source_key": "990001"}],
    ("webforms", "submissions"): [
        {"submission_id": "w-1", "submitted_at": "1735787045000",
         "fields": {"email": "JANE.DOE@example.com", "phone": "+1 555 0100"},
         "consent": {"marketing": True, "text": "Yes", "given_at": "2025-01-02 03:04:05"},
         "source_key": "w-1"},
        {"submission_id": "w-2", "fields": {"email": "not an email"}, "source_key": "w-2"}],
    ("salesforce", "opportunity"): [
        {"Id": "006TEST00000000001", "Name": "Dirty amount", "StageName": "Proposal",
         "Amount": "USD 12,000", "CloseDate": "03/04/2025", "Probability": "abc",
         "source_key": "006TEST00000000001"},
        {"Id": "006TEST00000000002", "Name": "EU amount", "StageName": "negotiation/review",
         "Amount": "1.234,50", "CloseDate": "04.03.2025", "source_key": "006TEST00000000002"},
        {"Id": "006TEST00000000003", "Name": "No amount", "StageName": "Closed Won",
         "Amount": "TBD", "CloseDate": "2025-02-30", "source_key": "006TEST00000000003"},
        {"Id": "006TEST00000000004", "Name": "Bad stage", "StageName": "Dreaming",
         "Amount": "5", "source_key": "006TEST00000000004"}],
    ("salesforce", "opportunity_history"): [
        {"Id": "008TEST00000000001", "OpportunityId": "006TEST00000000001",
         "StageName": "Proposal", "CreatedDate": "yesterday", "source_key": "008TEST00000000001"}],
}

DATA_TABLES = ("users", "teams", "accounts", "contacts", "contact_sources", "leads",
               "marketing_campaigns", "pipelines", "pipeline_stages", "sales_pipeline",
               "deal_stage_history", "tasks", "campaign_members")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    demo = pytest.importorskip("salesops.demo")
    out = tmp_path_factory.mktemp("demo")
    demo.generate(out, 300, 11)
    return out


@pytest.fixture
def merged(clean_db: sa.Engine, demo_dir: Path) -> dict[str, MergeCounts]:
    batches = [*salesforce_export.read_export(demo_dir / "salesforce"),
               *hubspot_files.read_folder(demo_dir / "hubspot"),
               *webforms.read_submissions(demo_dir / "webforms" / "submissions.jsonl"),
               *touchpoints.read_events(demo_dir / "touchpoints" / "events.jsonl")]
    for b in batches:
        load_batch(clean_db, b.source, b.entity, b.origin, b.records, b.rejects)
    for (source, entity), records in EXTRA.items():
        load_batch(clean_db, source, entity, "test", records)
    return merge_all(clean_db)


def _rows(engine: sa.Engine, sql: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).all()


def _snapshot(engine: sa.Engine) -> dict[str, str]:
    return {t: _rows(engine, f"select md5(coalesce(string_agg(x::text, '|' order by x.id), ''))"
                             f" from app.{t} x")[0][0] for t in DATA_TABLES}


def test_counts_are_plausible(merged, clean_db, demo_dir):
    sf = {e: _rows(clean_db, f"select count(distinct source_key) from raw.salesforce__{e}")[0][0]
          for e in ("user", "account", "lead", "opportunity", "task")}
    assert merged["roles"].created == 6 and merged["pipeline"].created == 8
    assert merged["users"].created == sf["user"] and merged["teams"].created >= 1
    assert merged["accounts"].created == sf["account"]
    assert merged["leads"].created == sf["lead"]
    assert merged["deals"].created + merged["deals"].rejected == sf["opportunity"]
    assert merged["tasks"].created == sf["task"]
    contacts = merged["contacts"]
    # people are deduplicated: far fewer contacts than person records, but at least the leads'
    assert sf["lead"] * 0.5 < contacts.created < contacts.rows_in * 0.8
    assert merged["deal_stage_history"].created > merged["deals"].created
    assert _rows(clean_db, "select count(*) from ops.merge_runs")[0][0] == len(merged)


def test_one_contact_per_normalised_email(merged, clean_db):
    emails = _rows(clean_db, f"""
        select count(distinct app.normalize_email(e)) from (
          select record->>'Email' from {raw_records('salesforce', 'contact')} union all
          select record->>'Email' from {raw_records('salesforce', 'lead')} union all
          select record->'properties'->>'email' from raw.hubspot__contacts union all
          select record->'fields'->>'email' from raw.webforms__submissions) r(e)""")[0][0]
    contacts = _rows(clean_db, "select count(*) from app.contacts "
                               "where email_normalized is not null")[0][0]
    assert contacts == emails
    # every contact's full name is in the dictionary search reads: the merge wrote them
    assert _rows(clean_db, "select count(*) from app.contact_names")[0][0] > 0
    assert _rows(clean_db, f"select count(*) from app.contacts where {FULL_NAME} "
                           "not in (select name from app.contact_names)")[0][0] == 0
    jane = _rows(clean_db, """
        select c.email_normalized, c.first_name, c.title, c.phone, c.lifecycle_stage,
               c.marketing_consent, array_agg(s.source order by s.source)
        from app.contacts c join app.contact_sources s on s.contact_id = c.id
        where c.email_normalized = 'jane.doe@example.com' group by c.id""")
    assert jane == [("jane.doe@example.com", "Jane", "CFO", jane[0][3], "opportunity", True,
                     ["hubspot.contact", "salesforce.contact", "webforms.submission"])]
    assert process_cipher().open(jane[0][3], "app.contacts.phone") == "+1 555 0100"  # sealed
    assert _rows(clean_db, "select phone_index from app.contacts where email_normalized = "
                           "'jane.doe@example.com'")[0][0] == phone_index("+1 555 0100")


def test_dirty_values_are_cast_or_rejected(merged, clean_db):
    deals = dict((r[0], r[1:]) for r in _rows(clean_db, """
        select d.source_key, d.amount, d.expected_close_date::text, d.probability, s.name
        from app.sales_pipeline d join app.pipeline_stages s on s.id = d.stage_id
        where d.source_key like '006TEST%'"""))
    assert deals["006TEST00000000001"] == (12000, "2025-03-04", 60, "Proposal")
    assert deals["006TEST00000000002"] == (1234.5, "2025-03-04", 80, "Negotiation")
    assert deals["006TEST00000000003"] == (None, None, 100, "Closed Won")
    assert "006TEST00000000004" not in deals
    rejects = dict(_rows(clean_db, "select source_key, reason from ops.rejected_rows "
                                   "where stage = 'merge'"))
    assert rejects["006TEST00000000004"] == "unknown StageName 'Dreaming'"
    assert rejects["008TEST00000000001"] == "unusable CreatedDate 'yesterday'"
    assert rejects["w-2"] == "invalid email 'not an email' and no other key"


def test_rerun_adds_and_changes_nothing(merged, clean_db):
    before = _snapshot(clean_db)
    rejected = _rows(clean_db, "select count(*) from ops.rejected_rows")[0][0]
    again = merge_all(clean_db)
    assert all(c.created == 0 and c.updated == 0 for c in again.values()), again
    assert _snapshot(clean_db) == before
    assert _rows(clean_db, "select count(*) from ops.rejected_rows")[0][0] == rejected


def test_a_changed_source_record_updates_its_row_only(merged, clean_db):
    changed = {**EXTRA[("salesforce", "opportunity")][0], "Amount": "13000"}
    load_batch(clean_db, "salesforce", "opportunity", "test", [changed])
    again = merge_all(clean_db)
    assert (again["deals"].created, again["deals"].updated) == (0, 1)
    assert _rows(clean_db, "select amount, version from app.sales_pipeline "
                           "where source_key = '006TEST00000000001'") == [(13000, 2)]


@pytest.mark.parametrize(("function", "given", "expected"), [
    ("as_money", "USD 12,000", "12000.00"), ("as_money", "12k", "12000.00"),
    ("as_money", "$1,200.50", "1200.50"), ("as_money", "1.200,50", "1200.50"),
    ("as_money", "TBD", None), ("as_money", "-5", None), ("as_money", "NaN", None),
    ("as_int", "1e9", None), ("as_int", "42", "42"), ("as_int", "99999999999", None),
    ("as_date", "2025-03-04", "2025-03-04"), ("as_date", "03/04/2025", "2025-03-04"),
    ("as_date", "04.03.2025", "2025-03-04"), ("as_date", "2025-13-01", None),
    ("as_ts", "2025-03-04T10:15:00.000+0000", "2025-03-04 10:15:00+00"),
    ("as_ts", "1741083300000", "2025-03-04 10:15:00+00"), ("as_ts", "soon", None),
    ("as_bool", "true", "true"), ("as_bool", "maybe", None),
])
def test_safe_casts(engine, function, given, expected):
    """The casting rules the merge and dbt share (app.as_*, from the migrations)."""
    with engine.begin() as conn:
        conn.execute(sa.text("set local timezone = 'UTC'"))
        value = conn.execute(sa.text(f"select app.{function}(:v)::text"), {"v": given}).scalar()
    assert value == expected
