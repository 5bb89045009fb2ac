"""Bad input through the marts, on a small hand-made data set in a database of its own:
each case with the mart rows it must give.

- a touchpoint that arrives late (loaded after a build) is credited by the next,
  incremental, build;
- a touchpoint without a campaign is credited to its channel, campaign null;
- a conversion without touchpoints is 'unattributed', once per model;
- a contact merged into another after its touchpoints were attributed: its touchpoints
  count for the survivor's conversion at the next build;
- a campaign renamed away from its touchpoints, one created with a touchpoint's campaign
  name: the touchpoints follow at the next, incremental, build;
- a duplicate re-merged from one golden record to another: both golden records change at
  the next, incremental, build, though no row of the first is written;
- a deal moved back a stage; a deal reopened after it was lost;
- a deal in a currency other than the reporting one, and in one without a rate;
- customers from won deals and contracts: an active contract in another currency, a
  terminated one (churned), an account that never bought (prospect).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from orchestration.dbt_args import incremental_build_args
from salesops.db import get_engine
from salesops.warehouse import run_dbt

APP_SQL = """
insert into app.roles (id, name) values (1, 'sales_rep');
insert into app.users (id, email, full_name, role_id) values (1, 'rep@x.example', 'Rep', 1);
insert into app.contacts (id, first_name, email, email_normalized)
values (1, 'Ann', 'ann@a.example', 'ann@a.example'),
       (2, 'Bea', 'bea@b.example', 'bea@b.example'),
       (3, 'Ann (old)', 'ann.old@a.example', 'ann.old@a.example'),
       (4, 'Cy', 'cy@c.example', 'cy@c.example');
insert into app.contacts (id, first_name, email, email_normalized, merged_into_id)
values (5, 'Ann (merged into Cy by mistake)', 'ann.2@a.example', 'ann.2@a.example', 4);
insert into app.accounts (id, name) values (1, 'Ann Co'), (2, 'Bea Co'), (3, 'Nobody Co');
insert into app.marketing_campaigns (id, name, channel, status)
    values (1, 'Spring', 'email', 'running');
insert into app.pipelines (id, name, is_default) values (1, 'Sales', true);
insert into app.pipeline_stages (id, pipeline_id, name, position, probability, forecast_category,
                                 is_closed, is_won)
values (1, 1, 'Prospecting', 1, 10, 'pipeline', false, false),
       (2, 1, 'Qualification', 2, 20, 'pipeline', false, false),
       (3, 1, 'Proposal', 3, 60, 'best_case', false, false),
       (4, 1, 'Closed Won', 4, 100, 'closed', true, true),
       (5, 1, 'Closed Lost', 5, 0, 'omitted', true, false);
insert into app.leads (id, contact_id, status, lead_source, owner_id, created_at, updated_at,
                       converted_at)
values (1, 1, 'converted', 'email', 1, '2025-03-01 09:00+00', '2025-03-20 10:00+00',
        '2025-03-20 10:00+00'),
       (2, 2, 'converted', 'partner', 1, '2025-03-10 09:00+00', '2025-04-01 10:00+00',
        '2025-04-01 10:00+00'),
       (3, 4, 'new', 'web', 1, '2025-03-01 09:00+00', '2025-03-01 09:00+00', null);
insert into app.sales_pipeline (id, name, contact_id, lead_id, pipeline_id, stage_id, owner_id,
                                amount, currency, forecast_category, closed_at, is_won,
                                created_at, updated_at)
values (10, 'Won', 1, 1, 1, 4, 1, 10000, 'USD', 'closed', '2025-04-15 00:00+00', true,
        '2025-03-20 10:00+00', '2025-04-15 00:00+00'),
       (11, 'Moved back', 2, null, 1, 2, 1, 1000, 'EUR', 'pipeline', null, null,
        '2025-04-01 00:00+00', '2025-04-20 00:00+00'),
       (12, 'Reopened', 2, null, 1, 2, 1, 500, 'XYZ', 'closed', null, null,
        '2025-04-01 00:00+00', '2025-05-01 12:00+00'),
       (13, 'Moves back later', 2, null, 1, 3, 1, 700, 'USD', 'best_case', null, null,
        '2025-04-01 00:00+00', '2025-04-10 00:00+00'),
       (14, 'Reopened later', 2, null, 1, 5, 1, 300, 'USD', 'omitted', '2025-04-12 00:00+00',
        false, '2025-04-01 00:00+00', '2025-04-12 00:00+00'),
       (15, 'Won, deleted later', 2, null, 1, 4, 1, 200, 'USD', 'closed', '2025-05-02 00:00+00',
        true, '2025-04-05 00:00+00', '2025-05-02 00:00+00'),
       (16, 'Won, reopened later', 2, null, 1, 4, 1, 400, 'USD', 'closed',
        '2025-05-03 00:00+00', true, '2025-04-05 00:00+00', '2025-05-03 00:00+00');
update app.leads set converted_deal_id = 10 where id = 1;
update app.sales_pipeline set account_id = 1 where id = 10;
insert into app.interactions (id, kind, direction, contact_id, occurred_at, thread_id)
values (1, 'email', 'outbound', 3, '2025-04-01 10:00+00', 'th1'),
       (2, 'call', 'outbound', 2, '2025-04-03 10:00+00', null),
       (4, 'call', 'outbound', 5, '2025-03-05 10:00+00', null);
insert into app.contracts (deal_id, account_id, status, value, currency, start_date, end_date,
                           signed_at)
values (10, 1, 'active', 9000, 'EUR', '2025-04-20', '2026-04-19', '2025-04-18 00:00+00'),
       (11, 2, 'terminated', 800, 'USD', '2024-01-01', '2024-12-31', '2023-12-20 00:00+00');
insert into app.deal_stage_history (deal_id, stage_id, stage_label, entered_at, exited_at)
values (10, 1, 'Prospecting', '2025-03-20 10:00+00', '2025-04-15 00:00+00'),
       (10, 4, 'Closed Won', '2025-04-15 00:00+00', null),
       (11, 1, 'Prospecting', '2025-04-01 00:00+00', '2025-04-10 00:00+00'),
       (11, 3, 'Proposal', '2025-04-10 00:00+00', '2025-04-20 00:00+00'),
       (11, 2, 'Qualification', '2025-04-20 00:00+00', null),
       (12, 1, 'Prospecting', '2025-04-01 00:00+00', '2025-04-05 12:00+00'),
       (12, 5, 'Closed Lost', '2025-04-05 12:00+00', '2025-05-01 12:00+00'),
       (12, 2, 'Qualification', '2025-05-01 12:00+00', null),
       (13, 1, 'Prospecting', '2025-04-01 00:00+00', '2025-04-10 00:00+00'),
       (13, 3, 'Proposal', '2025-04-10 00:00+00', null),
       (14, 1, 'Prospecting', '2025-04-01 00:00+00', '2025-04-12 00:00+00'),
       (14, 5, 'Closed Lost', '2025-04-12 00:00+00', null),
       (15, 1, 'Prospecting', '2025-04-05 00:00+00', '2025-05-02 00:00+00'),
       (15, 4, 'Closed Won', '2025-05-02 00:00+00', null),
       (16, 1, 'Prospecting', '2025-04-05 00:00+00', '2025-05-03 00:00+00'),
       (16, 4, 'Closed Won', '2025-05-03 00:00+00', null);
"""

#: Between the builds: deal 13 moves back from Proposal to Qualification, deal 14 is
#: reopened after it was lost; won deals 15 and 16, the only conversions of May, are
#: deleted and reopened (they stop being conversions: May has none left).
DEALS_LATER_SQL = """
update app.sales_pipeline set stage_id = 2, forecast_category = 'pipeline',
       updated_at = '2025-05-10 00:00+00' where id = 13;
update app.deal_stage_history set exited_at = '2025-05-10 00:00+00'
 where deal_id = 13 and stage_id = 3;
insert into app.deal_stage_history (deal_id, stage_id, stage_label, entered_at, exited_at)
values (13, 2, 'Qualification', '2025-05-10 00:00+00', null),
       (14, 2, 'Qualification', '2025-05-11 00:00+00', null);
update app.deal_stage_history set exited_at = '2025-05-11 00:00+00'
 where deal_id = 14 and stage_id = 5;
update app.sales_pipeline set stage_id = 2, forecast_category = 'pipeline', closed_at = null,
       is_won = null, updated_at = '2025-05-11 00:00+00' where id = 14;
update app.sales_pipeline set deleted_at = '2025-05-12 00:00+00' where id = 15;
update app.sales_pipeline set stage_id = 2, forecast_category = 'pipeline', closed_at = null,
       is_won = null, updated_at = '2025-05-12 00:00+00' where id = 16;
update app.deal_stage_history set exited_at = '2025-05-12 00:00+00'
 where deal_id = 16 and stage_id = 4;
insert into app.deal_stage_history (deal_id, stage_id, stage_label, entered_at, exited_at)
values (16, 2, 'Qualification', '2025-05-12 00:00+00', null);
"""

#: The models the incremental run recomputes by key, compared with a full rebuild; the
#: columns saying when a row was written differ by design.
INCREMENTAL_MODELS = {
    "intermediate.int_leads__funnel_stages": "lead_id",
    "marts.fct_leads": "lead_id",
    "marts.dim_contacts": "contact_id",
    "marts.fct_deals": "deal_id",
    "intermediate.int_deals__stage_history_sequenced": "deal_stage_history_id",
    "marts.fct_deal_stage_history": "deal_stage_history_id",
    "intermediate.int_attribution__conversions": "conversion_id",
    "marts.fct_campaign_performance": "campaign_id",
    "marts.fct_attribution": "conversion_id, model, touchpoint_id",
    "intermediate.int_touchpoints__linked_to_contacts": "event_id",
    "marts.fct_touchpoints": "touchpoint_id",
    "marts.fct_interactions": "interaction_id",
    "intermediate.int_attribution__channel_credits":
        "conversion_id, model, channel, campaign, period",
    "intermediate.int_attribution__channel_totals": "group_key",
    "marts.attribution_by_channel": "model, conversion_type, channel, campaign, period",
}
WRITE_TIME_COLUMNS = {"refreshed_at", "attributed_at", "linked_at"}
#: The snapshot's incremental run recomputes its last day only (the days before stay as
#: they were taken): that day, compared with a full rebuild's.
LAST_DAY_MODELS = ["intermediate.int_deals__open_by_day", "marts.fct_pipeline_daily_snapshot"]


def _event(conn, event_id: str, occurred_at: str, channel: str, email: str,
           campaign: str | None, loaded_at: str, batch: uuid.UUID) -> None:
    record = {"event_id": event_id, "event_type": "session", "occurred_at": occurred_at,
              "email": email, "channel": channel, "campaign": campaign}
    conn.execute(sa.text(
        "insert into raw.touchpoints__events (batch_id, source, source_key, content_hash, "
        "loaded_at, record) values (:b, 'touchpoints', :k, md5(:r), :l, cast(:r as jsonb))"),
        {"b": batch, "k": event_id, "r": json.dumps(record), "l": loaded_at})


@pytest.fixture(scope="module")
def db(make_database) -> tuple[str, sa.Engine]:
    url = make_database("salesops_badinput")
    engine = get_engine(url)
    batch = uuid.uuid4()
    with engine.begin() as conn:
        for statement in APP_SQL.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
        conn.execute(sa.text("insert into ops.load_batches (batch_id, source, entity, status) "
                             "values (:b, 'test', 'all', 'loaded')"), {"b": batch})
        loaded = "2025-05-01 00:00+00"
        _event(conn, "t1", "2025-03-05T10:00:00Z", "email", "ann@a.example", "Spring", loaded,
               batch)
        _event(conn, "t2", "2025-03-10T10:00:00Z", "organic_search", "ann@a.example", None,
               loaded, batch)
        _event(conn, "t3", "2025-03-12T10:00:00Z", "paid_social", "ann.old@a.example",
               "Spring", loaded, batch)
        _event(conn, "t5", "2025-03-06T10:00:00Z", "events", "cy@c.example", "Webinar",
               loaded, batch)
    return url, engine


@pytest.fixture(scope="module")
def first_build(db, dbt_target: Path, dbt_vars) -> sa.Engine:
    url, engine = db
    run_dbt(["build", "--full-refresh", *dbt_vars], url, target_path=dbt_target, quiet=True)
    return engine


@pytest.fixture(scope="module")
def second_build(first_build, db, dbt_target: Path, dbt_vars) -> sa.Engine:
    """After the first build: a late touchpoint arrives, Ann's old record is merged into
    Ann, Ann's record merged into Cy by mistake is re-merged into Ann (Cy's lead loses the
    call that was its first response), a reply joins a thread, a call is deleted, a deal
    moves back a stage and another is reopened after it was lost. The incremental run (the
    incremental selector, its data tests on the rows it wrote) must take them all in."""
    url, engine = db
    with engine.begin() as conn:
        batch = conn.execute(sa.text("select batch_id from ops.load_batches")).scalar()
        _event(conn, "t4", "2025-03-15T10:00:00Z", "events", "ann@a.example", None,
               "2025-05-02 00:00+00", batch)
        # a campaign renamed away from its touchpoints' name, one created with another's
        conn.execute(sa.text("update app.marketing_campaigns set name = 'Spring 2025' "
                             "where id = 1"))
        conn.execute(sa.text("insert into app.marketing_campaigns (id, name, channel, status) "
                             "values (2, 'webinar', 'events', 'running')"))
        conn.execute(sa.text("update app.contacts set merged_into_id = 1 where id = 3"))
        conn.execute(sa.text("update app.contacts set merged_into_id = 1 where id = 5"))
        # Ann's reply to the email of her old record arrives; the call to Bea is deleted
        conn.execute(sa.text(
            "insert into app.interactions (id, kind, direction, contact_id, occurred_at, "
            "thread_id) values (3, 'email', 'inbound', 3, '2025-04-02 10:00+00', 'th1')"))
        conn.execute(sa.text("update app.interactions set deleted_at = now(), updated_at = now() "
                             "where id = 2"))
        for statement in DEALS_LATER_SQL.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
        # the incremental run leaves the comments to the daily build (persist_docs false)
        conn.execute(sa.text("comment on table marts.fct_deals is 'set between the builds'"))
    run_dbt(incremental_build_args(json.loads(dbt_vars[1])), url,
            target_path=dbt_target, quiet=True)
    return engine


def _rows(engine: sa.Engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _linear(engine: sa.Engine, conversion_id: str) -> dict[str, float]:
    return {r["touchpoint_id"]: r["credit"] for r in _rows(
        engine, "select touchpoint_id, credit from marts.fct_attribution "
                f"where model = 'linear' and conversion_id = '{conversion_id}'")}


def test_touchpoint_without_campaign_and_conversion_without_touchpoints(first_build):
    # before the merge, t3 is another person's: Ann's lead has t1 and t2
    assert _linear(first_build, "lead-1") == {"t1": 0.5, "t2": 0.5}
    rows = _rows(first_build, "select channel, campaign, conversions from "
                              "marts.attribution_by_channel where model = 'linear' "
                              "and conversion_type = 'lead' order by channel")
    assert rows == [
        {"channel": "email", "campaign": "Spring", "conversions": 0.5},
        {"channel": "organic_search", "campaign": None, "conversions": 0.5},
        {"channel": "unattributed", "campaign": None, "conversions": 1.0},
    ]
    bea = _rows(first_build, "select model, channel, credit, touchpoint_id "
                             "from marts.fct_attribution where conversion_id = 'lead-2'")
    assert len(bea) == 7
    assert {(r["channel"], r["credit"], r["touchpoint_id"]) for r in bea} == \
        {("unattributed", 1.0, None)}
    interactions = _rows(first_build, "select interaction_id, contact_id, thread_size "
                                      "from marts.fct_interactions order by 1")
    assert interactions == [{"interaction_id": 1, "contact_id": 3, "thread_size": 1},
                            {"interaction_id": 2, "contact_id": 2, "thread_size": 1},
                            {"interaction_id": 4, "contact_id": 4, "thread_size": 1}]
    # the call to Ann's record merged into Cy by mistake is Cy's lead's first response
    assert _rows(first_build, "select first_response_at is not null as responded "
                              "from marts.fct_leads where lead_id = 3") == [{"responded": True}]


def test_won_deals_are_conversions(first_build):
    # before the second build deletes deal 15 and reopens deal 16
    assert [r["conversion_id"] for r in _rows(
        first_build, "select conversion_id from intermediate.int_attribution__conversions "
                     "where conversion_type = 'deal_won' order by 1")] == \
        ["deal-10", "deal-15", "deal-16"]
    assert _rows(first_build, "select sum(won_deals) as n from marts.attribution_by_channel "
                              "where model = 'first_touch' and period = '2025-05-01'") == \
        [{"n": 2}]


def test_late_touchpoint_and_merged_contact_are_credited_next_build(second_build):
    # t3 (Ann's old record, now merged into Ann) and t4 (loaded late) count now
    assert _linear(second_build, "lead-1") == {"t1": 0.25, "t2": 0.25, "t3": 0.25, "t4": 0.25}
    assert _rows(second_build, "select contact_id from marts.fct_touchpoints "
                               "where touchpoint_id in ('t3', 't4')") == \
        [{"contact_id": 1}, {"contact_id": 1}]


def test_renamed_and_new_campaign_next_build(second_build):
    assert _rows(second_build, "select touchpoint_id, campaign, campaign_id "
                               "from marts.fct_touchpoints where touchpoint_id in "
                               "('t1', 't3', 't5') order by 1") == [
        {"touchpoint_id": "t1", "campaign": "Spring", "campaign_id": None},
        {"touchpoint_id": "t3", "campaign": "Spring", "campaign_id": None},
        {"touchpoint_id": "t5", "campaign": "webinar", "campaign_id": 2}]



def test_late_reply_merged_contact_and_deleted_interaction_next_build(second_build):
    rows = _rows(second_build, "select interaction_id, contact_id, thread_position, thread_size, "
                               "response_time_hours, hours_to_reply "
                               "from marts.fct_interactions order by 1")
    assert [(r["interaction_id"], r["contact_id"], r["thread_position"], r["thread_size"])
            for r in rows] == [(1, 1, 1, 2), (3, 1, 2, 2), (4, 1, 1, 1)]  # the call (2) is gone
    assert (float(rows[0]["hours_to_reply"]), float(rows[1]["response_time_hours"])) == \
        (24.0, 24.0)


def test_deal_moved_back_a_stage(first_build):
    history = _rows(first_build, "select current_stage_name, duration_days, is_backward_move, "
                                 "is_current from marts.fct_deal_stage_history "
                                 "where deal_id = 11 order by stage_sequence")
    assert [(r["current_stage_name"], r["is_backward_move"], r["is_current"]) for r in history] \
        == [("Prospecting", False, False), ("Proposal", False, False),
            ("Qualification", True, True)]
    assert [float(r["duration_days"]) for r in history] == [9.0, 10.0, 42.0]  # as_of 06-01
    stages = {r["snapshot_date"].isoformat(): r["stage_name"] for r in _rows(
        first_build, "select snapshot_date, stage_name from marts.fct_pipeline_daily_snapshot "
                     "where deal_id = 11 and snapshot_date in "
                     "('2025-04-05', '2025-04-15', '2025-04-25')")}
    assert stages == {"2025-04-05": "Prospecting", "2025-04-15": "Proposal",
                      "2025-04-25": "Qualification"}


def test_deal_reopened_after_lost(first_build):
    deal = _rows(first_build, "select is_closed, forecast_category, forecast_category_label, "
                              "times_reopened from marts.fct_deals where deal_id = 12")[0]
    assert deal == {"is_closed": False, "forecast_category": "pipeline",
                    "forecast_category_label": "Pipeline", "times_reopened": 1}
    days = [r["snapshot_date"].isoformat() for r in _rows(
        first_build, "select snapshot_date from marts.fct_pipeline_daily_snapshot "
                     "where deal_id = 12 order by 1")]
    # open 04-01..04-04, lost from 04-05 12:00 to 05-01 12:00, open again to as_of (06-01)
    assert days[:4] == ["2025-04-01", "2025-04-02", "2025-04-03", "2025-04-04"]
    assert days[4] == "2025-05-01" and days[-1] == "2025-06-01"
    assert len(days) == 4 + 32
    history = _rows(first_build, "select is_reopen from marts.fct_deal_stage_history "
                                 "where deal_id = 12 order by stage_sequence")
    assert [r["is_reopen"] for r in history] == [False, False, True]


def test_non_default_currency(first_build):
    deals = {r["deal_id"]: r for r in _rows(
        first_build, "select deal_id, amount, currency, amount_reporting from marts.fct_deals")}
    assert (float(deals[11]["amount"]), deals[11]["currency"]) == (1000.0, "EUR")
    assert float(deals[11]["amount_reporting"]) == 1080.0  # seeds/currency_rates.csv
    assert deals[12]["amount_reporting"] is None  # XYZ has no rate: never a guess
    assert float(deals[10]["amount_reporting"]) == 10000.0
    snapshot = _rows(first_build, "select amount_reporting from marts.fct_pipeline_daily_snapshot "
                                  "where deal_id = 11 and snapshot_date = '2025-06-01'")
    assert float(snapshot[0]["amount_reporting"]) == 1080.0


def test_customers_from_won_deals_and_contracts(first_build):
    contracts = {r["contract_id"]: r for r in _rows(
        first_build, "select contract_id, deal_id, account_id, contact_id, value_reporting, "
                     "term_days, is_active, has_ended, days_from_won_to_signed "
                     "from marts.fct_contracts")}
    active, ended = sorted(contracts.values(), key=lambda r: r["deal_id"])
    assert (active["deal_id"], active["account_id"], active["contact_id"]) == (10, 1, 1)
    assert float(active["value_reporting"]) == 10000.0  # the won deal's amount
    assert (active["term_days"], active["is_active"], active["has_ended"]) == (365, True, False)
    assert active["days_from_won_to_signed"] == 3  # won 04-15, signed 04-18
    assert (ended["is_active"], ended["has_ended"], ended["days_from_won_to_signed"]) == \
        (False, True, None)  # deal 11 is not won
    customers = {r["account_id"]: r for r in _rows(
        first_build, "select account_id, customer_status, won_deals, first_won_date, "
                     "active_contract_value, churned_on from marts.dim_customers")}
    assert {i: r["customer_status"] for i, r in customers.items()} == \
        {1: "customer", 2: "churned", 3: "prospect"}
    ann = customers[1]
    assert (ann["won_deals"], ann["first_won_date"].isoformat()) == (1, "2025-04-15")
    assert float(ann["active_contract_value"]) == 10000.0 and ann["churned_on"] is None
    assert customers[2]["churned_on"].isoformat() == "2024-12-31"
    assert float(customers[3]["active_contract_value"]) == 0.0


def test_incremental_run_writes_only_the_changed_keys(second_build, dbt_target: Path):
    written = {table: {r["key"] for r in _rows(
        second_build, f"select {key} as key from marts.{table} where refreshed_at = "
                      f"(select max(refreshed_at) from marts.{table})")}
        for table, key in (("fct_deals", "deal_id"), ("dim_contacts", "contact_id"))}
    # the deals moved back and reopened, and Ann's (her duplicates merged into her); Ann
    # (merges, late touchpoint, reply), Bea (a deleted call) and Cy (whose duplicate moved
    # to Ann); the merged record is gone
    assert written == {"fct_deals": {10, 13, 14, 16}, "dim_contacts": {1, 2, 4}}
    # the stage history of the deals moved back or reopened (the deleted one has none left)
    assert {r["deal_id"] for r in _rows(
        second_build, "select deal_id from intermediate.int_deals__stage_history_sequenced "
                      "where refreshed_at = (select max(refreshed_at) "
                      "from intermediate.int_deals__stage_history_sequenced)")} == {13, 14, 16}
    # the snapshot's run on the same day rewrote that day's rows of the deals that changed
    assert {r["deal_id"] for r in _rows(
        second_build, "select deal_id from intermediate.int_deals__open_by_day "
                      "where xmin::text::bigint = (select max(xmin::text::bigint) "
                      "from intermediate.int_deals__open_by_day)")} == {13, 14, 16}
    # the deleted deal is gone; neither it nor the reopened one is a conversion any more
    assert _rows(second_build, "select count(*) as n from marts.fct_deals "
                               "where deal_id = 15") == [{"n": 0}]
    assert _rows(second_build, "select conversion_id from "
                               "intermediate.int_attribution__conversions order by 1") == \
        [{"conversion_id": "deal-10"}, {"conversion_id": "lead-1"},
         {"conversion_id": "lead-2"}]
    assert _rows(second_build, "select count(*) as n from marts.attribution_by_channel "
                               "where period = '2025-05-01'") == [{"n": 0}]
    assert {r["contact_id"]: r["merged_contact_count"] for r in _rows(
        second_build, "select contact_id, merged_contact_count from marts.dim_contacts")} == \
        {1: 2, 2: 0, 4: 0}
    assert _rows(second_build, "select count(*) as n from marts.dim_contacts "
                               "where contact_id = 3") == [{"n": 0}]
    # Cy's lead lost its first response with the re-merge
    assert _rows(second_build, "select first_response_at from marts.fct_leads "
                               "where lead_id = 3") == [{"first_response_at": None}]
    deal_13, deal_14 = _rows(second_build, "select deal_id, stage_name, is_closed, "
                                           "times_reopened from marts.fct_deals "
                                           "where deal_id in (13, 14) order by 1")
    assert (deal_13["stage_name"], deal_13["is_closed"]) == ("Qualification", False)
    assert (deal_14["is_closed"], deal_14["times_reopened"]) == (False, 1)
    # the run's data tests read only the rows it wrote, and only tests of what it built ran:
    # none of a view (int_leads__resolved, lead_features) and no singular test
    compiled = dbt_target / "compiled" / "salesops" / "models"
    not_null = next(compiled.rglob("not_null_fct_deals_deal_id.sql")).read_text()
    # the newest write time as a literal (the planner then reads the column's index)
    newest = _rows(second_build, "select max(refreshed_at)::text as t from marts.fct_deals")
    assert f"where refreshed_at = '{newest[0]['t']}')" in not_null
    tests = [r["unique_id"].split(".")[2] for r in json.loads(
        (dbt_target / "run_results.json").read_text())["results"]
        if r["unique_id"].startswith("test.")]
    assert "unique_fct_deals_deal_id" in tests and "not_null_fct_touchpoints_channel" in tests
    assert not [t for t in tests if t.startswith("assert_") or "int_leads__resolved" in t
                or "lead_features" in t]
    assert _rows(second_build, "select obj_description('marts.fct_deals'::regclass) as c") \
        == [{"c": "set between the builds"}]


#: fct_pipeline_daily as fct_pipeline_daily_snapshot adds up, and the mart itself.
PIPELINE_BY_DAY = """
    select snapshot_date, owner_id, stage_id, forecast_category, count(*) as deals,
           sum(amount_reporting)::numeric(18, 2) as amount_reporting,
           count(*) filter (where amount_reporting is null) as deals_without_rate
    from marts.fct_pipeline_daily_snapshot group by 1, 2, 3, 4 order by 1, 2, 3, 4"""
PIPELINE_DAILY = """
    select snapshot_date, owner_id, stage_id, forecast_category, deals, amount_reporting,
           deals_without_rate
    from marts.fct_pipeline_daily order by 1, 2, 3, 4"""


def _pipeline_marts_hold(engine: sa.Engine) -> None:
    """fct_pipeline_daily adds up the snapshot; the snapshot's table is written in day order
    and has the covering index the dashboards' walk reads (through the view)."""
    daily = _rows(engine, PIPELINE_DAILY)
    assert daily == _rows(engine, PIPELINE_BY_DAY) and len(daily) > 30
    assert sum(r["deals_without_rate"] for r in daily) > 0  # deal 12, in XYZ
    days = [r["snapshot_date"] for r in _rows(
        engine, "select snapshot_date from intermediate.int_deals__open_by_day order by ctid")]
    assert days == sorted(days)
    assert _rows(engine, "select indexdef from pg_indexes where schemaname = 'intermediate' "
                         "and indexname = 'int_deals__open_by_day_day_deal_idx'") == [
        {"indexdef": "CREATE UNIQUE INDEX int_deals__open_by_day_day_deal_idx ON "
                     "intermediate.int_deals__open_by_day USING btree (snapshot_date, deal_id) "
                     "INCLUDE (owner_id, amount_reporting)"}]


def test_pipeline_daily_after_the_incremental_run(second_build):
    _pipeline_marts_hold(second_build)


def test_incremental_run_equals_a_full_build(second_build, db, dbt_target: Path, dbt_vars):
    """Last in this module: rebuilds the incremental models in full and compares."""
    def snapshot() -> dict[str, list[dict]]:
        return {table: [{k: v for k, v in row.items() if k not in WRITE_TIME_COLUMNS}
                        for row in _rows(second_build, f"select * from {table} order by {key}")]
                for table, key in INCREMENTAL_MODELS.items()}

    def last_day() -> dict[str, list[dict]]:
        return {table: _rows(second_build, f"select * from {table} where snapshot_date = "
                                           f"(select max(snapshot_date) from {table}) "
                                           "order by deal_id")
                for table in LAST_DAY_MODELS}

    incremental, incremental_last_day = snapshot(), last_day()
    # every model: a full refresh drops a table with the views over it (cascade)
    run_dbt(["run", "--full-refresh", *dbt_vars], db[0],
            target_path=dbt_target, quiet=True)
    full, full_last_day = snapshot(), last_day()
    for table in INCREMENTAL_MODELS:
        assert incremental[table] == full[table], table
    for table in LAST_DAY_MODELS:
        assert incremental_last_day[table] == full_last_day[table], table
    assert len(full_last_day["marts.fct_pipeline_daily_snapshot"]) >= 3
    assert len(full["marts.fct_deals"]) == 6 and len(full["marts.fct_attribution"]) > 7
    # indexes made by post-hooks: a full refresh that replaces the table keeps them
    _pipeline_marts_hold(second_build)
    assert _rows(second_build, "select indexname from pg_indexes where schemaname = 'marts' "
                               "and tablename = 'fct_leads' and indexname like '%open_queue%'"
                 ) == [{"indexname": "fct_leads_open_queue_idx"}]
    # the next day's first run: the last day held recomputed for every deal, the new one
    # added; equal to a full rebuild as of then
    next_day = ["--vars", json.dumps({"as_of": "2025-06-02 09:00:00+00"})]
    snapshot_models = ["--select", "int_deals__open_by_day", "fct_pipeline_daily_snapshot"]
    days = ("select * from marts.fct_pipeline_daily_snapshot where snapshot_date >= "
            "'2025-06-01' order by snapshot_date, deal_id")
    run_dbt(["run", *snapshot_models, *next_day], db[0], target_path=dbt_target, quiet=True)
    incremental_days = _rows(second_build, days)
    run_dbt(["run", "--full-refresh", *snapshot_models, *next_day], db[0],
            target_path=dbt_target, quiet=True)
    assert incremental_days == _rows(second_build, days)
    assert {r["snapshot_date"].isoformat() for r in incremental_days} == {
        "2025-06-01", "2025-06-02"}
