"""dbt build on a small hand-made data set: the marts hold what we work out by hand.

One `dbt build` for the module (parsing is slow); every test reads its results. The data:

- contacts: Ann (1, Acme), Bob (2), Robert (3, merged into Bob), Carl (4, deleted)
- leads: 1 Ann converted 2025-03-20 10:00 into won deal 1 (12,000); 2 Robert (so Bob)
  working; 3 Bob disqualified; 4 deleted; 5 Carl's (contact gone); 6 converted without a
  time or a contact (so converted at its updated_at, unattributed)
- touchpoints: Ann e0 (2024-11-15, outside the 90-day window), e1 (anonymous ad click,
  stitched through anon-1), e2 (form fill as ann+promo@), e3 (open; re-loaded, the newer
  version counts), e4 (click, junk cost), e5 (after the conversion); Bob e6, e8 (junk time);
  a stranger e7
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestration.dbt_args import incremental_build_args
from salesops.errors import SalesopsError
from salesops.models.raw import has_record_columns
from salesops.warehouse import DBT_PROJECT_DIR, dbt_env, run_dbt


def _raw(conn, table: str, source_key: str, record: dict, loaded_at: str, batch_id) -> None:
    """One raw row; a Salesforce table's record as its text columns (added as the loader
    adds them), any other's as jsonb."""
    source = table.split("__")[0]
    params = {"batch": batch_id, "source": source, "key": source_key,
              "rec": json.dumps(record), "loaded_at": loaded_at}
    if not has_record_columns(source):
        conn.execute(sa.text(
            f"insert into raw.{table} (batch_id, source, source_key, content_hash, loaded_at,"
            " record) values (:batch, :source, :key, md5(:rec), :loaded_at, cast(:rec as jsonb))"),
            params)
        return
    names = [f'"{name}"' for name in record]
    conn.execute(sa.text(f"alter table raw.{table} "
                         + ", ".join(f"add column if not exists {n} text" for n in names)))
    conn.execute(sa.text(
        f"insert into raw.{table} (batch_id, source, source_key, content_hash, loaded_at, "
        + ", ".join(names) + ") values (:batch, :source, :key, md5(:rec)::uuid, :loaded_at, "
        + ", ".join(f":f{i}" for i in range(len(names))) + ")"),
        params | {f"f{i}": value for i, value in enumerate(record.values())})


def _event(event_id, event_type, occurred_at, channel, email=None, anonymous_id=None,
           campaign=None, cost=None):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at,
            "anonymous_id": anonymous_id, "email": email, "channel": channel,
            "campaign": campaign, "utm": {"source": "x", "medium": "y"},
            "page_url": "https://example.com/", "referrer": None, "cost": cost}


APP_SQL = """
insert into app.roles (id, name) values (1, 'sales_rep');
insert into app.users (id, email, full_name, role_id)
    values (1, 'alice@sales.example', 'Alice Rep', 1);
insert into app.accounts (id, name, domain, industry, employees, country, owner_id, created_at)
    values (1, 'Acme', 'acme.com', 'Software', 200, 'US', 1, '2024-01-01 00:00+00');
insert into app.contacts (id, account_id, first_name, last_name, email, email_normalized, phone,
                          lifecycle_stage, owner_id, marketing_consent, deleted_at, merged_into_id)
values (1, 1, 'Ann', 'Lee', 'ann@acme.com', 'ann@acme.com', null,
        'customer', 1, true, null, null),
       (2, null, 'Bob', 'Ray', 'Bob@Gmail.com', 'bob@gmail.com', '+1 555 0100',
        'lead', 1, null, null, null),
       (3, null, 'Robert', 'Ray', 'robert@old.example', 'robert@old.example', null,
        'lead', null, null, null, 2),
       (4, null, 'Carl', 'Gone', 'carl@gone.example', 'carl@gone.example', null,
        'lead', null, null, '2025-01-01', null);
insert into app.contact_sources (contact_id, source, source_key, match_rule)
values (1, 'salesforce', '003A', 'source_key'), (1, 'webforms', 'sub-1', 'email'),
       (2, 'hubspot', '501', 'source_key'), (3, 'salesforce', '003B', 'source_key');
insert into app.marketing_campaigns (id, name, channel, status)
    values (1, 'Spring Launch', 'paid_social', 'running');
insert into app.pipelines (id, name, is_default) values (1, 'Sales', true);
insert into app.pipeline_stages (id, pipeline_id, name, position, probability, forecast_category,
                                 is_closed, is_won)
values (1, 1, 'Prospecting', 1, 10, 'pipeline', false, false),
       (2, 1, 'Negotiation', 2, 60, 'commit', false, false),
       (3, 1, 'Closed Won', 3, 100, 'closed', true, true),
       (4, 1, 'Closed Lost', 4, 0, 'closed', true, false);
insert into app.leads (id, contact_id, account_id, company, status, lead_source, campaign_id,
                       owner_id, disqualified_reason, created_at, updated_at, converted_at,
                       deleted_at)
values (1, 1, 1, null, 'converted', 'paid_social', 1, 1, null,
        '2025-03-01 09:00+00', '2025-03-20 10:00+00', '2025-03-20 10:00+00', null),
       (2, 3, null, 'Ray Inc', 'working', 'organic_search', null, 1, null,
        '2025-03-10 09:00+00', '2025-03-10 09:00+00', null, null),
       (3, 2, null, null, 'disqualified', 'organic_search', null, 1, 'no budget',
        '2025-01-05 09:00+00', '2025-02-01 12:00+00', null, null),
       (4, 2, null, null, 'new', null, null, null, null,
        '2025-01-05 09:00+00', '2025-01-05 09:00+00', null, '2025-02-02'),
       (5, 4, null, 'Gone Ltd', 'new', null, null, null, null,
        '2025-02-05 09:00+00', '2025-02-05 09:00+00', null, null),
       (6, null, null, 'Quiet Co', 'converted', 'partner', null, null, null,
        '2025-04-01 09:00+00', '2025-05-05 08:00+00', null, null);
insert into app.sales_pipeline (id, name, account_id, contact_id, lead_id, pipeline_id, stage_id,
                                owner_id, campaign_id, amount, probability, forecast_category,
                                closed_at, is_won, created_at, updated_at, deleted_at)
values (1, 'Acme expansion', 1, 1, 1, 1, 3, 1, 1, 12000, 100, 'closed',
        '2025-04-10 00:00+00', true, '2025-03-20 00:00+00', '2025-04-10 00:00+00', null),
       (2, 'Ray deal', null, 3, 2, 1, 2, 1, null, 5000, null, 'commit',
        null, null, '2025-04-01 00:00+00', '2025-04-15 00:00+00', null),
       (3, 'Deleted deal', null, 1, null, 1, 1, 1, null, 999, null, 'pipeline',
        null, null, '2025-04-01 00:00+00', '2025-04-01 00:00+00', '2025-04-02');
update app.leads set converted_deal_id = 1 where id = 1;
insert into app.deal_stage_history (deal_id, stage_id, stage_label, entered_at, exited_at)
values (2, 1, 'Prospecting', '2025-04-01 00:00+00', '2025-04-15 00:00+00'),
       (2, 2, 'Negotiation', '2025-04-15 00:00+00', null),
       (1, 3, 'Closed Won', '2025-04-10 00:00+00', null);
insert into app.interactions (kind, direction, contact_id, account_id, occurred_at)
values ('email', 'inbound', 1, 1, '2025-03-10 00:00+00'),
       ('email', 'inbound', 1, 1, '2025-04-01 00:00+00'),
       ('meeting', 'internal', 3, null, '2025-03-15 00:00+00');
insert into ml.lead_scores (lead_id, score, band, probability, model_name, model_version,
                            mlflow_run_id, scored_at)
values (1, 40, 'C', 0.4, 'lead_score', '1', 'run-a', '2025-03-02 00:00+00'),
       (1, 80, 'A', 0.8, 'lead_score', '2', 'run-b', '2025-03-05 00:00+00');
insert into app.sales_targets (period_grain, period_start, user_id, amount)
values ('quarter', '2025-04-01', 1, 9100), ('month', '2025-05-01', null, 5000);
insert into ml.model_drift (model_name, model_version, mlflow_run_id, checked_at, kind, feature,
                            psi, threshold, drifted, rows_reference, rows_current, distribution)
values ('lead_scoring', '2', 'run-b', '2025-05-01 00:00+00', 'feature', 'a', 0.05, 0.2, false,
        100, 50, '{}'),
       ('lead_scoring', '2', 'run-b', '2025-05-01 00:00+00', 'score', 'probability', 0.02, 0.2,
        false, 20, 50, '{}'),
       ('lead_scoring', '2', 'run-b', '2025-05-08 00:00+00', 'feature', 'a', 0.35, 0.2, true,
        100, 60, '{}'),
       ('lead_scoring', '2', 'run-b', '2025-05-08 00:00+00', 'feature', 'b', 0.1, 0.2, false,
        100, 60, '{}'),
       ('lead_scoring', '2', 'run-b', '2025-05-08 00:00+00', 'score', 'probability', 0.5, 0.2,
        true, 20, 60, '{}');
"""


def _load_hand_made_data(engine: sa.Engine) -> None:
    batch = uuid.uuid4()
    with engine.begin() as conn:
        for statement in APP_SQL.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
        conn.execute(sa.text(
            "insert into ops.load_batches (batch_id, source, entity, status) "
            "values (:b, 'test', 'all', 'loaded')"), {"b": batch})
        first, later = "2025-05-01 00:00+00", "2025-05-02 00:00+00"
        events = [
            _event("e0", "session", "2024-11-15T10:00:00Z", "organic_search",
                   email=" Ann@Acme.com"),
            _event("e1", "ad_click", "2025-02-10T10:00:00Z", "Paid_Social", anonymous_id="anon-1",
                   campaign="Spring Launch", cost="1.25"),
            _event("e2", "form_fill", "2025-02-12T10:00:00Z", "paid_social",
                   email="ann+promo@acme.com", anonymous_id="anon-1", campaign="spring launch"),
            _event("e4", "email_click", "2025-03-15T10:00:00Z", "email", email="ann@acme.com",
                   cost="abc"),
            _event("e5", "session", "2025-03-25T10:00:00Z", "direct", email="ann@acme.com"),
            _event("e6", "session", "2025-03-12T10:00:00Z", "organic_search",
                   email="bob@gmail.com"),
            _event("e7", "session", "2025-03-12T10:00:00Z", "referral",
                   email="stranger@nowhere.io"),
            _event("e8", "session", "not a date", "organic_search", email="bob@gmail.com"),
        ]
        for event in events:
            _raw(conn, "touchpoints__events", event["event_id"], event, first, batch)
        # e3 was re-loaded: the later version (channel email) is the current one
        _raw(conn, "touchpoints__events", "e3",
             _event("e3", "email_open", "2025-03-05T10:00:00Z", "paid_search",
                    email="ann@acme.com"), first, batch)
        _raw(conn, "touchpoints__events", "e3",
             _event("e3", "email_open", "2025-03-05T10:00:00Z", "email",
                    email="ann@acme.com"), later, batch)
        # Salesforce: a re-loaded lead whose newer version has a junk employee count
        lead = {"Id": "00Q000000000001AAA", "Email": "Ann@Acme.com", "NumberOfEmployees": "50",
                "IsConverted": "false", "CreatedDate": "2025-03-04T10:15:00.000+0000",
                "IsDeleted": "false"}
        _raw(conn, "salesforce__lead", lead["Id"], lead, first, batch)
        _raw(conn, "salesforce__lead", lead["Id"],
             {**lead, "NumberOfEmployees": "n/a", "IsConverted": "true"}, later, batch)
        _raw(conn, "salesforce__lead", "00Q000000000002AAA",
             {"Id": "00Q000000000002AAA", "CreatedDate": "garbage", "Company": "  "}, first, batch)
        _raw(conn, "salesforce__opportunity", "006A",
             {"Id": "006A", "Amount": "abc", "Probability": "", "IsWon": "true",
              "CloseDate": "2025-13-45"}, first, batch)
        _raw(conn, "salesforce__opportunity", "006B",
             {"Id": "006B", "Amount": "1500.50", "Probability": "NaN", "IsWon": "maybe",
              "CloseDate": "2025-04-30"}, first, batch)


@pytest.fixture(scope="module")
def built(engine: sa.Engine, database_url: str, dbt_target: Path, dbt_vars, truncate_data
          ) -> sa.Engine:
    truncate_data()
    _load_hand_made_data(engine)
    # full refresh: the incremental models may hold rows from an earlier module's data
    run_dbt(["build", "--full-refresh", *dbt_vars], database_url, target_path=dbt_target,
            quiet=True)
    return engine


def _rows(engine: sa.Engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def test_dbt_env_and_project_dir(database_url):
    env = dbt_env(database_url)
    assert set(env) >= {"SALESOPS_DBT_HOST", "SALESOPS_DBT_PORT", "SALESOPS_DBT_USER",
                        "SALESOPS_DBT_PASSWORD", "SALESOPS_DBT_DBNAME"}
    assert env["SALESOPS_DBT_DBNAME"] == sa.engine.make_url(database_url).database
    assert int(env["SALESOPS_DBT_PORT"]) > 0
    remote = dbt_env("postgresql://ana:p%40ss@db.example:6543/sales?sslmode=require")
    assert remote == {
        "SALESOPS_DBT_HOST": "db.example", "SALESOPS_DBT_PORT": "6543",
        "SALESOPS_DBT_USER": "ana", "SALESOPS_DBT_PASSWORD": "p@ss",
        "SALESOPS_DBT_DBNAME": "sales", "SALESOPS_DBT_SSLMODE": "require", "PGTZ": "UTC"}
    assert Path(__file__).resolve().parents[2] / "dbt_project" == DBT_PROJECT_DIR
    assert (DBT_PROJECT_DIR / "dbt_project.yml").is_file()
    assert (DBT_PROJECT_DIR / "profiles.yml").is_file()


def test_models_land_in_their_schemas(built):
    rows = _rows(built, "select table_schema, table_name from information_schema.tables "
                        "where table_schema in ('staging', 'intermediate', 'marts')")
    where = {r["table_name"]: r["table_schema"] for r in rows}
    assert where["stg_touchpoints__events"] == "staging"
    assert where["int_leads__resolved"] == "intermediate"
    for mart in ("dim_contacts", "dim_accounts", "dim_users", "dim_date", "fct_leads",
                 "fct_lead_funnel", "fct_lead_response_sla", "fct_deals",
                 "fct_deal_stage_history", "fct_pipeline_daily_snapshot", "fct_pipeline_daily",
                 "sales_velocity",
                 "fct_won_lost", "fct_touchpoints", "fct_campaign_performance",
                 "fct_interactions", "fct_attribution", "attribution_by_channel",
                 "fct_touchpoints_daily", "sales_targets", "fct_leads_daily",
                 "fct_model_drift", "fct_response_times_daily", "dim_lead_segments",
                 "fct_lead_scores_daily", "fct_account_engagement_daily"):
        assert where[mart] == "marts", mart
    views = _rows(built, "select table_name from information_schema.views "
                         "where table_schema = 'marts'")
    assert {"lead_features", "deal_features", "deal_stage_features", "action_record_features",
            "action_event_features"} <= {r["table_name"] for r in views}


def test_fct_model_drift_summarises_each_scoring_run(built):
    rows = _rows(built, "select * from marts.fct_model_drift order by checked_at, feature")
    assert len(rows) == 5
    first, latest = rows[:2], rows[2:]
    assert {r["is_model_flagged"] for r in first} == {False}
    assert {r["is_latest_check"] for r in first} == {False}
    assert {(r["features_drifted"], r["max_feature_psi"], r["score_psi"], r["is_model_flagged"],
             r["is_latest_check"]) for r in latest} == {(1, 0.35, 0.5, True, True)}
    assert [r["is_drifted"] for r in latest] == [True, False, True]  # a, b, probability


def test_fct_leads_rows_and_outcomes(built):
    leads = {r["lead_id"]: r for r in _rows(built, "select * from marts.fct_leads")}
    assert sorted(leads) == [1, 2, 3, 5, 6]  # 4 is deleted
    assert {i for i, r in leads.items() if r["is_converted"]} == {1, 6}
    assert {i for i, r in leads.items() if r["is_closed"]} == {1, 3, 6}
    ann, robert, bob_dq, carl, quiet = (leads[i] for i in (1, 2, 3, 5, 6))
    assert ann["converted_at"].isoformat() == "2025-03-20T10:00:00+00:00"
    assert ann["closed_at"] == ann["converted_at"]
    assert bob_dq["closed_at"].isoformat() == "2025-02-01T12:00:00+00:00"
    assert quiet["converted_at"].isoformat() == "2025-05-05T08:00:00+00:00"  # its updated_at
    assert robert["closed_at"] is None and not robert["is_closed"]
    # the merged contact resolves to its survivor; a deleted contact to nothing
    assert robert["contact_id"] == 2 and carl["contact_id"] is None
    # firmographics fall back to the account of the email's domain that predates the lead
    assert (ann["company"], ann["industry"], ann["employees"], ann["country"]) == \
        ("Acme", "Software", 200, "US")
    assert (ann["email_domain"], ann["is_free_email"], ann["has_phone"]) == \
        ("acme.com", False, False)
    assert (robert["email_domain"], robert["is_free_email"], robert["has_phone"]) == \
        ("gmail.com", True, True)
    assert carl["email_domain"] is None and carl["has_phone"] is False
    # engagement: e0, e1 (stitched), e2 before creation; e3, e4, e5 in the 30 days after
    assert (ann["touchpoints_before_creation"], ann["touchpoints_30d_after_creation"]) == (3, 3)
    # up to the conversion: one open (e3), one click (e4), one form fill (e2), one inbound email
    assert (ann["email_opens"], ann["email_clicks"], ann["form_fills"],
            ann["inbound_emails"]) == (1, 1, 1, 1)
    assert (robert["touchpoints_before_creation"], robert["touchpoints_30d_after_creation"]) \
        == (0, 1)
    assert (ann["score"], ann["score_band"], ann["score_probability"]) == (80, "A", 0.8)
    assert robert["score"] is None


LEAD_FEATURES_CONTRACT = [
    ("lead_id", "bigint"), ("contact_id", "bigint"), ("account_id", "bigint"),
    ("owner_id", "bigint"), ("campaign_id", "bigint"),
    ("created_at", "timestamp with time zone"), ("lead_source", "text"), ("status", "text"),
    ("company", "text"), ("title", "text"), ("industry", "text"), ("employees", "integer"),
    ("country", "text"), ("email_domain", "text"), ("is_free_email", "boolean"),
    ("has_phone", "boolean"), ("touchpoints_before_creation", "integer"),
    ("touchpoints_30d_after_creation", "integer"), ("email_opens", "integer"),
    ("email_clicks", "integer"), ("form_fills", "integer"), ("inbound_emails", "integer"),
    ("is_converted", "boolean"), ("converted_at", "timestamp with time zone"),
    ("is_closed", "boolean"), ("closed_at", "timestamp with time zone"),
]


def _columns(engine: sa.Engine, table: str) -> list[tuple[str, str]]:
    rows = _rows(engine, "select column_name, data_type from information_schema.columns "
                         f"where table_schema = 'marts' and table_name = '{table}' "
                         "order by ordinal_position")
    return [(r["column_name"], r["data_type"]) for r in rows]


def test_fct_leads_matches_the_contract(built):
    """lead_features is exactly the ML contract; fct_leads is it, then the score, then the
    status history and response fields (CONTRACTS.md)."""
    assert _columns(built, "lead_features") == LEAD_FEATURES_CONTRACT
    assert _columns(built, "fct_leads") == [
        *LEAD_FEATURES_CONTRACT,
        ("score", "integer"), ("score_band", "text"), ("score_probability", "double precision"),
        ("funnel_stage", "text"), ("mql_at", "timestamp with time zone"),
        ("sql_at", "timestamp with time zone"), ("opportunity_at", "timestamp with time zone"),
        ("won_at", "timestamp with time zone"), ("disqualified_at", "timestamp with time zone"),
        ("disqualified_reason", "text"), ("first_response_at", "timestamp with time zone"),
        ("hours_to_first_response", "numeric"), ("responded_within_sla", "boolean"),
        ("days_to_qualify", "numeric"), ("days_to_convert", "numeric"),
        ("refreshed_at", "timestamp with time zone"),
    ]


def test_dim_contacts(built):
    contacts = {r["contact_id"]: r for r in _rows(built, "select * from marts.dim_contacts")}
    assert sorted(contacts) == [1, 2]  # 3 is merged into 2, 4 is deleted
    ann, bob = contacts[1], contacts[2]
    assert (ann["account_name"], ann["owner_name"], ann["lifecycle_stage"]) == \
        ("Acme", "Alice Rep", "customer")
    assert ann["can_email_marketing"] is True and bob["can_email_marketing"] is False
    assert (ann["source_count"], ann["source_record_count"]) == (2, 2)
    # Bob's lineage includes Robert's, merged into him
    assert (bob["source_count"], bob["source_record_count"], bob["merged_contact_count"]) == \
        (2, 2, 1)
    assert bob["sources"] == ["hubspot", "salesforce"]
    # e0..e5 are Ann's (e1 through anon-1); e8 has no readable time
    assert ann["touchpoint_count"] == 6 and bob["touchpoint_count"] == 1
    assert ann["last_touch_at"].isoformat() == "2025-03-25T10:00:00+00:00"
    assert ann["last_touch_channel"] == "direct"
    assert (ann["inbound_emails"], bob["meetings"]) == (2, 1)


def test_fct_deals(built):
    deals = {r["deal_id"]: r for r in _rows(built, "select * from marts.fct_deals")}
    assert sorted(deals) == [1, 2]  # 3 is deleted
    won, open_ = deals[1], deals[2]
    assert (won["is_closed"], won["is_won"], won["forecast_category"]) == (True, True, "closed")
    assert won["age_days"] == 21 and won["closed_date"].isoformat() == "2025-04-10"
    assert won["campaign_name"] == "Spring Launch" and won["owner_name"] == "Alice Rep"
    assert (open_["is_closed"], open_["is_won"], open_["probability"]) == (False, False, 60)
    assert open_["forecast_category"] == "commit" and open_["contact_id"] == 2
    assert float(open_["weighted_amount"]) == 3000.0
    # as_of 2025-06-01: created 2025-04-01, in Negotiation since 2025-04-15
    assert (open_["age_days"], open_["days_in_current_stage"], open_["stage_changes"]) == \
        (61, 47, 1)


def test_ml_feature_views_of_deals_and_actions(built):
    """What the win-probability and next-best-action models read, each fact at its time."""
    deals = _rows(built, "select * from marts.deal_features order by deal_id")
    assert [(d["deal_id"], d["owner_id"], d["is_closed"], d["is_won"], d["booked_amount"])
            for d in deals] == [(1, 1, True, True, 12000), (2, 1, False, False, None)]
    assert deals[0]["closed_at"].isoformat() == "2025-04-10T00:00:00+00:00"
    assert deals[1]["closed_at"] is None and float(deals[1]["amount"]) == 5000
    stages = _rows(built, "select deal_id, stage_name, entered_at::date::text as day, "
                          "is_inferred from marts.deal_stage_features order by 1, 3")
    assert [(r["deal_id"], r["stage_name"], r["day"], r["is_inferred"]) for r in stages] == [
        (1, "Closed Won", "2025-04-10", False), (2, "Prospecting", "2025-04-01", False),
        (2, "Negotiation", "2025-04-15", False)]  # the deleted deal 3 has none

    records = {r["record"]: r for r in _rows(built, "select * from marts.action_record_features")}
    assert sorted(records) == ["deal:1", "deal:2", "deal:3", "lead:1", "lead:2", "lead:3",
                               "lead:4", "lead:5", "lead:6"]  # deleted ones too: history
    assert {k for k, r in records.items() if r["closed_at"] is None} == \
        {"lead:2", "lead:5", "deal:2"}
    assert records["lead:4"]["closed_at"].isoformat() == "2025-01-05T09:00:00+00:00"  # deleted
    assert records["deal:1"]["closed_at"] == deals[0]["closed_at"]
    assert not records["lead:6"]["has_contact"] and records["lead:2"]["has_contact"]
    events = _rows(built, "select record, event_type, action, occurred_at::text as at "
                          "from marts.action_event_features order by 1, 4")
    # no task or campaign member, no interaction on a deal: only moves forward, the deal's
    # first stage (entered at its creation) not one of them
    assert [(e["record"], e["event_type"], e["action"], e["at"][:16]) for e in events] == [
        ("deal:1", "progress", None, "2025-04-10 00:00"),
        ("deal:2", "progress", None, "2025-04-15 00:00"),
        ("lead:1", "progress", None, "2025-03-20 10:00")]


def test_dimensions(built):
    users = _rows(built, "select user_id, full_name, role_name, is_sales_rep, deals_owned "
                         "from marts.dim_users")
    assert users == [{"user_id": 1, "full_name": "Alice Rep", "role_name": "sales_rep",
                      "is_sales_rep": True, "deals_owned": 2}]
    accounts = _rows(built, "select account_id, customer_status, contacts, won_deals, "
                            "won_revenue from marts.dim_accounts")
    assert accounts == [{"account_id": 1, "customer_status": "customer", "contacts": 1,
                         "won_deals": 1, "won_revenue": 12000}]
    days = _rows(built, "select count(*) as n, min(date_day) as first, "
                        "bool_and(is_weekend = (day_of_week > 5)) as weekends from marts.dim_date")
    assert days[0]["n"] == 7670 and days[0]["first"].isoformat() == "2015-01-01"
    assert days[0]["weekends"] is True


def test_lead_status_history(built):
    leads = {r["lead_id"]: r for r in _rows(built, "select * from marts.fct_leads")}
    ann, robert, bob_dq = leads[1], leads[2], leads[3]
    # Ann: an email click (e4) after creation makes her an MQL; her deal, created on the day
    # she converted, makes her an SQL and an opportunity then; it was won on 04-10
    assert ann["funnel_stage"] == "won"
    assert ann["mql_at"].isoformat() == "2025-03-15T10:00:00+00:00"
    assert ann["sql_at"] == ann["opportunity_at"]
    assert ann["opportunity_at"].isoformat() == "2025-03-20T00:00:00+00:00"
    assert ann["won_at"].isoformat() == "2025-04-10T00:00:00+00:00"
    assert float(ann["days_to_qualify"]) == 18.63
    # Robert (working) has an open deal; his meeting 5 days after creation is the first touch
    assert robert["funnel_stage"] == "opportunity"
    assert float(robert["hours_to_first_response"]) == 111.0
    assert robert["responded_within_sla"] is False
    assert bob_dq["funnel_stage"] == "lead" and bob_dq["disqualified_reason"] == "no budget"
    assert bob_dq["disqualified_at"].isoformat() == "2025-02-01T12:00:00+00:00"


def test_fct_touchpoints_links_contacts(built):
    tps = {r["touchpoint_id"]: r for r in _rows(built, "select * from marts.fct_touchpoints")}
    assert sorted(tps) == ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"]
    assert {k: tps[k]["contact_id"] for k in tps} == {
        "e0": 1, "e1": 1, "e2": 1, "e3": 1, "e4": 1, "e5": 1, "e6": 2, "e7": None, "e8": 2}
    assert tps["e1"]["link_method"] == "anonymous_id" and tps["e0"]["link_method"] == "email"
    assert tps["e1"]["channel"] == "paid_social" and tps["e1"]["campaign_id"] == 1
    # campaign names match case-insensitively and come out as the app spells them
    assert (tps["e2"]["campaign_id"], tps["e2"]["campaign"]) == (1, "Spring Launch")
    assert tps["e3"]["channel"] == "email"  # the newer version
    assert float(tps["e1"]["cost"]) == 1.25 and tps["e4"]["cost"] is None
    assert tps["e8"]["occurred_at"] is None


def test_fct_touchpoints_daily_adds_up_the_touchpoints(built):
    daily = _rows(built, "select sum(touchpoints) as n, sum(cost) as cost "
                         "from marts.fct_touchpoints_daily")[0]
    each = _rows(built, "select count(*) as n, coalesce(sum(cost), 0) as cost "
                        "from marts.fct_touchpoints where occurred_date is not null")[0]
    assert (daily["n"], daily["cost"]) == (each["n"], each["cost"]) and each["n"] > 0


def test_fct_leads_daily_adds_up_the_leads_and_the_queue_has_its_index(built):
    daily = _rows(built, "select sum(leads) as leads, sum(mqls) as mqls, sum(won) as won, "
                         "sum(lead_to_mql_count) as steps from marts.fct_leads_daily")[0]
    each = _rows(built, "select count(*) as leads, count(mql_at) as mqls, count(won_at) as won, "
                        "count(mql_at - created_at) as steps from marts.fct_leads "
                        "where created_at is not null")[0]
    assert daily == each and each["leads"] > 0
    indexes = _rows(built, "select indexdef from pg_indexes "
                           "where schemaname = 'marts' and tablename = 'fct_leads'")
    assert any("score DESC NULLS LAST" in i["indexdef"] and "WHERE (NOT is_closed)"
               in i["indexdef"] for i in indexes)


def test_fct_response_times_daily_adds_up_the_inbound_messages(built):
    daily = _rows(built, "select sum(inbound) as inbound, sum(answered) as answered, "
                         "round(sum(reply_hours_sum)::numeric, 6) as hours "
                         "from marts.fct_response_times_daily")[0]
    each = _rows(built, "select count(*) as inbound, count(hours_to_reply) as answered, "
                        "round(coalesce(sum(hours_to_reply), 0)::numeric, 6) as hours "
                        "from marts.fct_interactions "
                        "where direction = 'inbound' and occurred_date is not null")[0]
    assert daily == each and each["inbound"] > 0
    grain = _rows(built, "select count(*) as n, count(distinct (occurred_date, user_id)) as d "
                         "from marts.fct_response_times_daily")[0]
    assert grain["n"] == grain["d"] > 0


def test_dim_lead_segments_holds_every_source_and_industry_once(built):
    order = " order by lead_source nulls first, industry nulls first"
    segments = _rows(built, "select lead_source, industry, leads from marts.dim_lead_segments"
                     + order)
    each = _rows(built, "select lead_source, industry, count(*) as leads from marts.fct_leads "
                        "group by 1, 2" + order)
    assert segments == each and len(each) > 1


def test_fct_lead_scores_daily_adds_up_the_leads_and_their_probabilities(built):
    daily = _rows(built, "select sum(leads) as leads, round(sum(probability_sum)::numeric, 6) "
                         "as p, sum(leads) filter (where not is_closed) as open "
                         "from marts.fct_lead_scores_daily")[0]
    each = _rows(built, "select count(*) as leads, round(sum(score_probability)::numeric, 6) "
                        "as p, count(*) filter (where not is_closed) as open "
                        "from marts.fct_leads where created_at is not null")[0]
    assert daily == each and each["leads"] > 0


def test_fct_account_engagement_daily_adds_up_the_interactions(built):
    daily = _rows(built, "select sum(interactions) as n, sum(analysed) as analysed, "
                         "round(sum(sentiment_sum)::numeric, 6) as sentiment, "
                         "sum(unanswered_inbound) as unanswered "
                         "from marts.fct_account_engagement_daily")[0]
    each = _rows(built, "select count(*) as n, count(sentiment_score) as analysed, "
                        "round(sum(sentiment_score)::numeric, 6) as sentiment, "
                        "count(*) filter (where direction = 'inbound' and hours_to_reply "
                        "is null) as unanswered from marts.fct_interactions "
                        "where account_id is not null and occurred_date is not null")[0]
    assert daily == each and each["n"] > 0


def test_sales_targets_as_day_ranges_with_their_level(built):
    rows = _rows(built, "select period_grain, period_start::text, period_end::text, level, "
                        "owner_id, target_amount from marts.sales_targets order by 2")
    assert [tuple(r.values()) for r in rows] == [
        ("quarter", "2025-04-01", "2025-06-30", "rep", 1, 9100),
        ("month", "2025-05-01", "2025-05-31", "company", None, 5000)]


def test_staging_nulls_junk_and_keeps_latest_version(built):
    leads = {r["lead_id"]: r for r in _rows(built, "select * from staging.stg_salesforce__leads")}
    assert len(leads) == 2
    first = leads["00Q000000000001AAA"]
    assert first["employees"] is None and first["is_converted"] is True
    assert first["email_normalized"] == "ann@acme.com"
    assert first["created_at"].isoformat() == "2025-03-04T10:15:00+00:00"
    second = leads["00Q000000000002AAA"]
    assert second["created_at"] is None and second["company"] is None
    opps = {r["opportunity_id"]: r
            for r in _rows(built, "select * from staging.stg_salesforce__opportunities")}
    assert opps["006A"]["amount"] is None and opps["006A"]["close_date"] is None
    assert opps["006A"]["probability"] is None and opps["006A"]["is_won"] is True
    assert float(opps["006B"]["amount"]) == 1500.50 and opps["006B"]["probability"] is None
    assert opps["006B"]["is_won"] is False


MODELS = {"first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "u_shaped",
          "w_shaped"}


def test_attribution_credits_by_hand(built):
    rows = _rows(built, "select model, conversion_type, conversion_id, lead_id, touchpoint_id, "
                        "channel, campaign, credit, attributed_revenue, conversion_date "
                        "from marts.fct_attribution order by model, conversion_id, touch_position")
    ann = [r for r in rows if r["conversion_id"] == "lead-1"]
    credits = {(r["model"], r["touchpoint_id"]): r["credit"] for r in ann
               if r["model"] in ("first_touch", "last_touch", "last_non_direct", "linear",
                                 "u_shaped", "w_shaped")}
    # window 2024-12-20 .. 2025-03-20 10:00: e1, e2, e3, e4 (e0 is older, e5 later); the
    # lead was created on 2025-03-01 (after e2), its opportunity on 2025-03-20 (after e4)
    assert credits == pytest.approx({
        ("first_touch", "e1"): 1.0, ("last_touch", "e4"): 1.0, ("last_non_direct", "e4"): 1.0,
        ("linear", "e1"): 0.25, ("linear", "e2"): 0.25, ("linear", "e3"): 0.25,
        ("linear", "e4"): 0.25,
        ("u_shaped", "e1"): 0.4, ("u_shaped", "e2"): 0.1, ("u_shaped", "e3"): 0.1,
        ("u_shaped", "e4"): 0.4,
        # first e1 0.3; lead creation e2 0.3; opportunity e4 0.3; e3 the rest, 0.1
        ("w_shaped", "e1"): 0.3, ("w_shaped", "e2"): 0.3, ("w_shaped", "e3"): 0.1,
        ("w_shaped", "e4"): 0.3,
    })
    decay = {r["touchpoint_id"]: r["credit"] for r in ann if r["model"] == "time_decay"}
    # newer touches weigh more: e4 (5 days before) > e3 (15) > e2 (36) > e1 (38)
    assert decay["e4"] > decay["e3"] > decay["e2"] > decay["e1"] > 0
    assert {float(r["attributed_revenue"]) for r in ann if r["model"] == "linear"} == {3000.0}
    assert [r["attributed_revenue"] for r in ann
            if r["model"] in ("first_touch", "last_touch")] == [12000, 12000]
    # lead 6 converted with no touchpoints: unattributed, once per model
    quiet = [r for r in rows if r["conversion_id"] == "lead-6"]
    assert sorted((r["model"], r["channel"], r["credit"]) for r in quiet) == sorted(
        (m, "unattributed", 1.0) for m in MODELS)
    # the won deal 1 (closed 2025-04-10) is a conversion of its own, in a 365-day window:
    # e0 and e5 count too
    deal = {r["touchpoint_id"] for r in rows if r["conversion_id"] == "deal-1"}
    assert deal == {"e0", "e1", "e2", "e3", "e4", "e5"}
    sums = _rows(built, "select model, conversion_id, sum(credit) as total "
                        "from marts.fct_attribution group by model, conversion_id")
    assert all(abs(r["total"] - 1.0) < 1e-9 for r in sums) and len(sums) == 3 * len(MODELS)


def test_attribution_by_channel(built):
    rows = _rows(built, "select * from marts.attribution_by_channel "
                        "where model = 'linear' and conversion_type = 'lead' "
                        "order by channel, campaign")
    by_key = {(r["channel"], r["campaign"], r["period"].isoformat()): r for r in rows}
    # e1 and e2 name the campaign differently; both count for the app's campaign
    assert by_key[("paid_social", "Spring Launch", "2025-03-01")]["conversions"] == 0.5
    assert by_key[("email", None, "2025-03-01")]["conversions"] == 0.5
    assert float(by_key[("email", None, "2025-03-01")]["revenue"]) == 6000.0
    assert by_key[("unattributed", None, "2025-05-01")]["conversions"] == 1.0
    totals = _rows(built, "select model, conversion_type, sum(conversions) as n, "
                          "sum(revenue) as revenue from marts.attribution_by_channel "
                          "group by model, conversion_type")
    expected = {**{(m, "lead"): 2.0 for m in MODELS}, **{(m, "deal_won"): 1.0 for m in MODELS}}
    assert {(r["model"], r["conversion_type"]): r["n"] for r in totals} == \
        pytest.approx(expected)
    # revenue is rounded per row to cents: totals reconcile to within a few cents
    assert {(r["model"], r["conversion_type"]): float(r["revenue"]) for r in totals} == \
        pytest.approx({key: 12000.0 for key in expected}, abs=0.05)


def test_failing_test_raises_with_the_node(built, database_url, dbt_target, dbt_vars):
    """A lead added after the build is missing from fct_leads (a table; lead_features is a
    view, always current): the singular test says so."""
    with built.begin() as conn:
        conn.execute(sa.text("insert into app.leads (id, status) values (99, 'new')"))
    try:
        with pytest.raises(SalesopsError, match="assert_fct_leads_covers_every_live_lead"):
            run_dbt(["test", "--select", "assert_fct_leads_covers_every_live_lead", *dbt_vars],
                    database_url, target_path=dbt_target, quiet=True)
    finally:
        with built.begin() as conn:
            conn.execute(sa.text("delete from app.leads where id = 99"))


def test_touchpoints_staging_is_incremental(built, database_url, dbt_target, dbt_vars):
    """A run reads only raw rows loaded since the newest it has (less the margin)."""
    with built.begin() as conn:
        batch = conn.execute(sa.text("select batch_id from ops.load_batches limit 1")).scalar()
        # a new version of e7 (now with a channel fix) and a new event, loaded later...
        _raw(conn, "touchpoints__events", "e7",
             _event("e7", "session", "2025-03-12T10:00:00Z", "partner",
                    email="stranger@nowhere.io"), "2025-05-03 00:00+00", batch)
        _raw(conn, "touchpoints__events", "e9",
             _event("e9", "meeting", "2025-04-01T10:00:00Z", "events", email="ann@acme.com"),
             "2025-05-03 00:00+00", batch)
        # ...and one that claims an old load time: outside the margin, so not read
        _raw(conn, "touchpoints__events", "e10",
             _event("e10", "session", "2025-04-01T10:00:00Z", "direct"),
             "2025-04-01 00:00+00", batch)
    run_dbt(["run", "--select", "stg_touchpoints__events", *dbt_vars], database_url,
            target_path=dbt_target, quiet=True)
    rows = {r["event_id"]: r for r in _rows(
        built, "select event_id, channel from staging.stg_touchpoints__events")}
    assert sorted(rows) == ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"]
    assert rows["e7"]["channel"] == "partner" and rows["e3"]["channel"] == "email"


def test_fct_deals_built_before_current_stage_entered_at_takes_an_incremental_run(
        built, database_url, dbt_target, dbt_vars):
    """A table from before the column: the hourly run recomputes every open deal once and
    adds the column, instead of failing until the daily full build."""
    before = _rows(built, "select deal_id, days_in_current_stage, current_stage_entered_at"
                          " from marts.fct_deals order by deal_id")
    with built.begin() as conn:
        conn.execute(sa.text("alter table marts.fct_deals drop column current_stage_entered_at"))
    run_dbt(["run", "--select", "fct_deals", *dbt_vars], database_url, target_path=dbt_target,
            quiet=True)
    assert _rows(built, "select deal_id, days_in_current_stage, current_stage_entered_at"
                        " from marts.fct_deals order by deal_id") == before


def test_stage_history_built_as_a_table_takes_an_hourly_run(
        built, database_url, dbt_target, dbt_vars):
    """A database built before fct_deal_stage_history was a view (a table then, without
    int_deals__stage_history_sequenced): the hourly run builds the new table in full, and
    the daily build puts the view in the old table's place."""
    history = "select * from marts.fct_deal_stage_history order by deal_stage_history_id"
    before = _rows(built, history)
    with built.begin() as conn:
        conn.execute(sa.text("create table marts.fct_deal_stage_history_old as "
                             "select * from marts.fct_deal_stage_history"))
        conn.execute(sa.text("drop table intermediate.int_deals__stage_history_sequenced "
                             "cascade"))
        conn.execute(sa.text("alter table marts.fct_deal_stage_history_old "
                             "rename to fct_deal_stage_history"))
        conn.execute(sa.text("delete from intermediate.incremental_marks "
                             "where model = 'intermediate.int_deals__stage_history_sequenced'"))
    run_dbt(incremental_build_args(json.loads(dbt_vars[1])), database_url,
            target_path=dbt_target, quiet=True)
    assert _rows(built, "select count(*) as n from intermediate.int_deals__stage_history_sequenced"
                 ) == [{"n": len(before)}]
    run_dbt(["run", "--select", "fct_deal_stage_history", *dbt_vars], database_url,
            target_path=dbt_target, quiet=True)
    assert _rows(built, "select relkind from pg_class where oid = "
                        "'marts.fct_deal_stage_history'::regclass") == [{"relkind": "v"}]
    assert _rows(built, history) == before


def test_attribution_by_channel_without_its_totals_takes_an_hourly_run(
        built, database_url, dbt_target, dbt_vars):
    """A database built before attribution_by_channel was summed by difference (no totals,
    no credits held by conversion): the hourly run builds both in full, and the table over
    them holds the same rows."""
    by_channel = ("select * from marts.attribution_by_channel "
                  "order by model, conversion_type, channel, campaign, period")
    before = _rows(built, by_channel)
    with built.begin() as conn:
        for table in ("int_attribution__channel_totals", "int_attribution__channel_credits"):
            conn.execute(sa.text(f"drop table intermediate.{table}"))
    run_dbt(incremental_build_args(json.loads(dbt_vars[1])), database_url,
            target_path=dbt_target, quiet=True)
    assert _rows(built, "select count(*) as n from intermediate.int_attribution__channel_totals"
                 ) == [{"n": len(before)}]
    assert _rows(built, by_channel) == before


def test_pipeline_snapshot_built_as_a_table_takes_an_hourly_run(
        built, database_url, dbt_target, dbt_vars):
    """A database built before fct_pipeline_daily_snapshot was a view (a table then, with
    age_days and snapshot_at, without int_deals__open_by_day): the hourly run builds the new
    table in full, fct_pipeline_daily reading the old one until the daily build puts the
    view in its place, with the same rows."""
    snapshot = "select * from marts.fct_pipeline_daily_snapshot order by snapshot_date, deal_id"
    before = _rows(built, snapshot)
    with built.begin() as conn:
        conn.execute(sa.text("create table marts.fct_pipeline_daily_snapshot_old as "
                             "select * from marts.fct_pipeline_daily_snapshot"))
        conn.execute(sa.text("drop table intermediate.int_deals__open_by_day cascade"))
        conn.execute(sa.text("alter table marts.fct_pipeline_daily_snapshot_old "
                             "rename to fct_pipeline_daily_snapshot"))
        conn.execute(sa.text("delete from intermediate.incremental_marks "
                             "where model = 'intermediate.int_deals__open_by_day'"))
    run_dbt(incremental_build_args(json.loads(dbt_vars[1])), database_url,
            target_path=dbt_target, quiet=True)
    assert _rows(built, "select count(*) as n from intermediate.int_deals__open_by_day") == [
        {"n": len(before)}]
    run_dbt(["run", "--select", "fct_pipeline_daily_snapshot", *dbt_vars], database_url,
            target_path=dbt_target, quiet=True)
    assert _rows(built, "select relkind from pg_class where oid = "
                        "'marts.fct_pipeline_daily_snapshot'::regclass") == [{"relkind": "v"}]
    assert _rows(built, snapshot) == before and len(before) > 30
