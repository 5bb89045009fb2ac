"""Every page on a handful of hand-made marts rows: the numbers it shows are the ones
computed by hand below, and the filters in the URL change them.

The period used throughout is 2026-04-01..2026-06-30 (91 days); the previous period of
equal length is 2025-12-31..2026-03-31.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.dashboards.dashboard_app import marts_aside, run_page

PERIOD = "2026-04-01..2026-06-30"
HALF_YEAR = "2026-01-01..2026-06-30"

DEALS = """
    create table marts.fct_deals as
    select * from (values
        (1, 'One', 1, 'Ann', 1, 'Won', 6, 'closed', 1000, 0, 100, true, true,
         date '2026-01-10', date '2026-02-09', 30, 0, 'web'),
        (2, 'Two', 1, 'Ann', 1, 'Won', 6, 'closed', 2000, 0, 100, true, true,
         date '2026-04-05', date '2026-05-05', 30, 0, 'web'),
        (3, 'Three', 2, 'Bob', 2, 'Won', 6, 'closed', 3000, 0, 100, true, true,
         date '2026-03-01', date '2026-05-30', 90, 0, 'event'),
        (4, 'Four', 2, 'Bob', 2, 'Lost', 7, 'closed', 500, 0, 0, true, false,
         date '2026-04-10', date '2026-06-01', 52, 0, 'event'),
        (5, 'Five', 1, 'Ann', 1, 'Proposal', 3, 'commit', 4000, 2400, 60, false, false,
         date '2026-02-01', null, 300, 20, 'web'),
        (6, 'Six', 2, 'Bob', 2, 'Discovery', 1, 'pipeline', 1500, 150, 10, false, false,
         date '2026-05-01', null, 208, 5, 'event'),
        (7, 'Seven', 1, 'Ann', 1, 'Lost', 7, 'closed', 700, 0, 0, true, false,
         date '2026-01-20', date '2026-03-15', 54, 0, 'web')
    ) as d (deal_id, deal_name, owner_id, owner_name, owner_team_id, stage_name,
            stage_position,
            forecast_category, amount, weighted_amount, probability, is_closed, is_won,
            created_date, closed_date, age_days, days_in_current_stage, lead_source)"""

LEADS = """
    create table marts.fct_leads as
    select lead_id::bigint, owner_id::bigint, company, title, lead_source, industry, status,
           created_at::timestamptz, is_converted, is_closed, closed_at::timestamptz
    from (values
        (1, 1, 'Acme', 'CTO', 'web', 'software', 'working', '2026-04-02 10:00+00', false,
         false, null),
        (2, 2, 'Beta', 'CFO', 'event', 'retail', 'new', '2026-05-02 10:00+00', false, false,
         null),
        (3, 1, 'Gamma', 'CEO', 'web', 'software', 'converted', '2026-06-02 10:00+00', true,
         true, '2026-06-20 10:00+00'),
        (4, 1, 'Delta', 'VP', 'web', 'retail', 'disqualified', '2026-02-02 10:00+00', false,
         true, '2026-03-01 10:00+00'),
        (5, 2, 'Epsilon', 'Ops', 'event', 'software', 'new', '2026-03-02 10:00+00', false,
         false, null)
    ) as l (lead_id, owner_id, company, title, lead_source, industry, status, created_at,
            is_converted, is_closed, closed_at)"""

ATTRIBUTION = """
    create table marts.attribution_by_channel as
    select model, channel, campaign, period::date, conversions::float8,
           revenue::numeric(16, 2), converted_leads, credited_touchpoints
    from (values
        ('first_touch', 'email', 'spring', '2026-04-01', 2, 3000, 2, 2),
        ('first_touch', 'paid_search', 'brand', '2026-05-01', 2, 2000, 2, 2),
        ('linear', 'email', 'spring', '2026-04-01', 1.5, 2500, 2, 3),
        ('linear', 'paid_search', 'brand', '2026-05-01', 1.5, 2500, 3, 3),
        ('linear', 'email', 'winter', '2025-06-01', 4, 100, 4, 4),
        ('last_touch', 'paid_search', 'brand', '2026-05-01', 3, 5000, 3, 3)
    ) as a (model, channel, campaign, period, conversions, revenue, converted_leads,
            credited_touchpoints)"""

TOUCHPOINTS = """
    create table marts.fct_touchpoints as
    select channel, campaign, event_type, occurred_date::date, cost::numeric(12, 2)
    from (values
        ('email', 'spring', 'email_open', '2026-04-10', 500),
        ('paid_search', 'brand', 'ad_click', '2026-05-10', 1000),
        ('paid_search', 'brand', 'ad_click', '2026-05-11', 1000),
        ('display', 'retarget', 'session', '2026-05-12', 300),
        ('email', 'spring', 'email_click', '2026-05-13', null),
        ('email', 'winter', 'email_open', '2025-06-10', 50)
    ) as t (channel, campaign, event_type, occurred_date, cost)"""

#: Leads 1 and 2 in the April cohort, 3 and 4 in May; lead 2 is Bob's.
FUNNEL = """
    create table marts.fct_lead_funnel as
    select lead_id, owner_id::bigint, created_at::timestamptz, mql_at::timestamptz,
           sql_at::timestamptz, opportunity_at::timestamptz, won_at::timestamptz
    from (values
        (1, 1, '2026-04-02', '2026-04-04', '2026-04-08', '2026-04-10', '2026-05-10'),
        (2, 2, '2026-04-15', '2026-04-16', null, null, null),
        (3, 1, '2026-05-02', '2026-05-12', '2026-05-22', null, null),
        (4, 1, '2026-05-20', null, null, null, null)
    ) as f (lead_id, owner_id, created_at, mql_at, sql_at, opportunity_at, won_at)"""

STAGE_HISTORY = """
    create table marts.fct_deal_stage_history as
    select deal_id, owner_id::bigint, stage_name, stage_position, entered_at::timestamptz,
           exited_at::timestamptz
    from (values
        (2, 1, 'Discovery', 1, '2026-04-05', '2026-04-15'),
        (2, 1, 'Proposal', 3, '2026-04-15', '2026-05-05'),
        (6, 2, 'Discovery', 1, '2026-05-01', '2026-05-11'),
        (6, 2, 'Proposal', 3, '2026-05-11', null)
    ) as h (deal_id, owner_id, stage_name, stage_position, entered_at, exited_at)"""

#: From 2026-03-31 to 2026-06-30: deal 3 won, 5 grew by 500, 6 is new, 9 lost, 10 gone.
SNAPSHOTS = """
    create table marts.fct_pipeline_daily_snapshot as
    select snapshot_date::date, deal_id, owner_id::bigint, amount::numeric(16, 2), is_closed,
           is_won
    from (values
        ('2026-03-31', 3, 2, 3000, false, false), ('2026-03-31', 5, 1, 4000, false, false),
        ('2026-03-31', 9, 1, 800, false, false), ('2026-03-31', 10, 1, 100, false, false),
        ('2026-05-15', 5, 1, 4200, false, false),
        ('2026-06-30', 3, 2, 3000, true, true), ('2026-06-30', 5, 1, 4500, false, false),
        ('2026-06-30', 6, 2, 1500, false, false), ('2026-06-30', 9, 1, 800, true, false)
    ) as s (snapshot_date, deal_id, owner_id, amount, is_closed, is_won)"""

TARGETS = """
    create table marts.sales_targets as
    select period_start::date, owner_id::bigint, target_amount::numeric(16, 2)
    from (values ('2026-05-01', 1, 2000), ('2026-05-01', 2, 3000), ('2026-06-01', 1, 1000)
    ) as t (period_start, owner_id, target_amount)"""

INTERACTIONS = """
    create table marts.fct_interactions as
    select interaction_id, account_name, owner_id::bigint, interaction_type, direction,
           occurred_at::timestamptz, response_minutes, sentiment_label,
           sentiment_score::float8
    from (values
        (1, 'Acme', 1, 'email', 'inbound', '2026-04-06 10:00+00', 120, 'positive', 0.8),
        (2, 'Acme', 1, 'email', 'inbound', '2026-04-07 10:00+00', 240, 'neutral', 0.1),
        (3, 'Beta', 2, 'email', 'inbound', '2026-05-05 09:00+00', null, 'negative', -0.6),
        (4, 'Beta', 2, 'email', 'outbound', '2026-05-06 09:00+00', null, null, null),
        (5, 'Acme', 1, 'call', 'outbound', '2026-05-06 09:00+00', null, 'positive', 0.5)
    ) as i (interaction_id, account_name, owner_id, interaction_type, direction,
            occurred_at, response_minutes, sentiment_label, sentiment_score)"""

#: (as_of, period_start, p10, p50, p90): May's forecast before May, and a later one; June's.
FORECASTS = [("2026-04-25", "2026-05-01", 1000, 3000, 6000),
             ("2026-05-20", "2026-05-01", 4000, 5000, 6000),
             ("2026-05-28", "2026-06-01", 100, 200, 300)]

REASONS = [{"feature": "email_clicks", "value": 5, "contribution": 0.9, "direction": "up"},
           {"feature": "is_free_email", "value": False, "contribution": -0.1,
            "direction": "down"}]

#: (lead_id, score, band, probability); lead 5 has no score. Lead 1's older score is
#: superseded by its newer one.
SCORES = [(1, 50, "C", 0.4, "2026-04-03"), (1, 90, "A", 0.8, "2026-06-01"),
          (2, 40, "C", 0.3, "2026-06-01"), (3, 70, "B", 0.7, "2026-06-10"),
          (4, 20, "D", 0.15, "2026-02-20")]


def load_rows(conn: sa.Connection) -> None:
    """The hand-made marts tables and the ops and ml rows the pages read."""
    for sql in (DEALS, LEADS, ATTRIBUTION, TOUCHPOINTS, FUNNEL, STAGE_HISTORY, SNAPSHOTS,
                TARGETS, INTERACTIONS):
        conn.execute(sa.text(sql))
    for as_of, period_start, p10, p50, p90 in FORECASTS:
        conn.execute(sa.text(
            "insert into ml.forecasts (model_name, model_version, mlflow_run_id, as_of, "
            "period_start, period_grain, p10, p50, p90) values ('bookings', '1', 'run', "
            ":as_of, :period_start, 'month', :p10, :p50, :p90)"),
            {"as_of": as_of, "period_start": period_start, "p10": p10, "p50": p50, "p90": p90})
    conn.execute(sa.text("insert into app.teams (id, name) overriding system value "
                         "values (1, 'East'), (2, 'West')"))
    conn.execute(sa.text(
        "insert into app.leads (id) overriding system value select generate_series(1, 5)"))
    for lead_id, score, band, probability, at in SCORES:
        conn.execute(sa.text(
            "insert into ml.lead_scores (lead_id, score, band, probability, reasons, "
            "model_name, model_version, mlflow_run_id, scored_at) values "
            "(:lead_id, :score, :band, :probability, cast(:reasons as jsonb), "
            "'lead_score', '3', 'run', :at)"),
            {"lead_id": lead_id, "score": score, "band": band, "probability": probability,
             "at": at, "reasons": json.dumps(REASONS if lead_id == 1 else [])})
    conn.execute(sa.text("""
        insert into ops.load_batches (batch_id, source, entity, status, finished_at,
                                      rows_in, rows_loaded, rows_rejected)
        values ('00000000-0000-0000-0000-000000000001', 'crm', 'contacts', 'loaded',
                now(), 103, 100, 3),
               ('00000000-0000-0000-0000-000000000002', 'crm', 'contacts', 'failed',
                now(), 0, 0, 0)"""))
    conn.execute(sa.text("""
        insert into ops.rejected_rows (batch_id, source, entity, reason)
        select '00000000-0000-0000-0000-000000000001', 'crm', 'contacts', 'malformed email'
        from generate_series(1, 3)"""))
    conn.execute(sa.text("""
        insert into ml.model_metrics (model_name, model_version, mlflow_run_id, metric, value,
                                      recorded_at)
        values ('lead_score', '2', 'r2', 'roc_auc', 0.70, '2026-05-01'),
               ('lead_score', '3', 'r3', 'roc_auc', 0.75, '2026-06-01')"""))


@pytest.fixture(scope="module")
def data_url(database_url: str, engine: sa.Engine, truncate_data) -> str:
    truncate_data()
    with marts_aside(engine):
        with engine.begin() as conn:
            load_rows(conn)
        try:
            yield database_url
        finally:
            truncate_data()


@pytest.fixture
def page(data_url: str, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", data_url)
    return run_page


def metrics(at) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta or None) for m in at.metric}


def test_overview_compares_the_period_with_the_one_before(page):
    at = page("views/overview.py", range=PERIOD)
    assert metrics(at) == {
        "Bookings (won)": ("$5,000", "+400.0%"),               # deals 2, 3 against 1
        "Open pipeline at period end": ("$5,500", "-21.4%"),  # 5, 6 against 3, 5 (7,000)
        "Win rate": ("67%", "+16.7 pp"),                      # 2 of 3 against 1 of 2
        "Average cycle (won deals)": ("60.0 days", "+100.0%"),  # (30 + 90) / 2 against 30
        "New leads": ("3", "+50.0%"),                         # leads 1-3 against 4, 5
    }
    summary = at.dataframe[0].value
    assert summary.measure.tolist()[0] == "Bookings (won)"
    assert summary.loc[0, "current"] == 5000 and summary.loc[0, "previous"] == 1000
    assert len(at.get("download_button")) == 1


def test_overview_rep_filter_in_the_url_changes_every_number(page):
    at = page("views/overview.py", range=PERIOD, rep="Ann")
    assert metrics(at) == {
        "Bookings (won)": ("$2,000", "+100.0%"),
        "Open pipeline at period end": ("$4,000", "+0.0%"),
        "Win rate": ("100%", "+50.0 pp"),
        "Average cycle (won deals)": ("30.0 days", "+0.0%"),
        "New leads": ("2", "+100.0%"),
    }
    assert {m.label: m.value for m in at.multiselect} == {"Team": [], "Rep": ["Ann"]}
    assert at.query_params["rep"] == "Ann"


def test_pipeline_lists_deals_and_filters_by_rep(page):
    at = page("views/pipeline.py", range=HALF_YEAR)
    assert len(at.dataframe[0].value) == 7
    values = metrics(at)
    assert values["Open pipeline"][0] == "$5,500"
    assert values["Weighted pipeline"][0] == "$2,550"
    assert values["Win rate"][0] == "60%"  # 3 won of 5 closed
    assert [b.key for b in at.get("download_button")] == [
        "download-deals", "download-pipeline_change", "download-bookings_forecast",
        "download-forecast_accuracy"]

    at = page("views/pipeline.py", range=HALF_YEAR, rep="Ann")
    assert sorted(at.dataframe[0].value.deal_id) == [1, 2, 5, 7]
    assert metrics(at)["Open pipeline"][0] == "$4,000"


def test_leads_page_prioritises_open_leads_and_checks_calibration(page):
    at = page("views/leads.py", range=HALF_YEAR)
    values = metrics(at)
    assert values["Open leads"][0] == "3"
    assert values["Open leads in band A"][0] == "1"
    assert values["Leads with a score"][0] == "4"

    queue, table = (d.value for d in at.dataframe)
    assert queue.lead_id.tolist() == [1, 2, 5]  # by score, the unscored last
    first = queue.iloc[0]
    assert (first.score, first.band) == (90, "A")  # the latest score, not the older 50
    assert first.top_reasons == ("email clicks = 5 (raises), "
                                 "is free email = False (lowers)")
    # closed leads with a score: lead 3 (0.7, converted) and lead 4 (0.15, not)
    assert table.leads.tolist() == [1, 1]
    assert table.predicted.tolist() == [0.15, 0.7]
    assert table.actual.tolist() == [0.0, 1.0]
    assert len(at.get("download_button")) == 2
    assert len(at.get("plotly_chart")) == 2


def test_leads_filters_in_the_url_narrow_the_list(page):
    at = page("views/leads.py", range=HALF_YEAR, source="event")
    assert at.dataframe[0].value.lead_id.tolist() == [2, 5]
    assert any("No closed lead had a score yet" in i.value for i in at.info)

    at = page("views/leads.py", range=HALF_YEAR, band="A")
    assert at.dataframe[0].value.lead_id.tolist() == [1]

    at = page("views/leads.py", range="2020-01-01..2020-12-31")
    assert [i.value for i in at.info] == ["No leads match these filters."]
    assert not at.dataframe and not at.metric


def test_campaigns_page_by_model_and_side_by_side(page):
    at = page("views/campaigns.py", range=HALF_YEAR)
    assert at.selectbox[0].value == "linear"
    assert metrics(at) == {"Conversions": ("3.0", None), "Attributed revenue": ("$5,000", None),
                           "Media cost": ("$2,800", None)}
    by_channel, by_campaign, side_by_side = (d.value for d in at.dataframe)
    assert by_channel.set_index("channel").conversions.to_dict() == {
        "email": 1.5, "paid_search": 1.5}
    # the winter campaign is outside the range; display converted nothing but cost money
    performance = by_campaign.set_index("campaign")
    assert performance.touchpoints.to_dict() == {"spring": 2, "brand": 2, "retarget": 1}
    assert performance.cost.to_dict() == {"spring": 500, "brand": 2000, "retarget": 300}
    assert performance.roi.to_dict() == {"spring": 4.0, "brand": 0.25, "retarget": -1.0}
    assert side_by_side.set_index("channel").to_dict("index")["paid_search"] == {
        "first_touch conversions": 2.0, "last_touch conversions": 3.0,
        "linear conversions": 1.5, "first_touch revenue": 2000.0,
        "last_touch revenue": 5000.0, "linear revenue": 2500.0}
    assert len(at.get("download_button")) == 3


def test_campaigns_model_and_channel_in_the_url(page):
    at = page("views/campaigns.py", range=HALF_YEAR, model="first_touch")
    assert metrics(at)["Conversions"][0] == "4.0"

    at = page("views/campaigns.py", range=HALF_YEAR, model="linear", channel="email")
    assert metrics(at) == {"Conversions": ("1.5", None), "Attributed revenue": ("$2,500", None),
                           "Media cost": ("$500", None)}

    at = page("views/campaigns.py", range=HALF_YEAR, model="last_touch", channel="email")
    assert any("No conversions under the last_touch model" in i.value for i in at.info)
    assert len(at.dataframe) == 1  # side by side still shows the email channel

    at = page("views/campaigns.py", range="2025-06-01..2025-06-30")
    assert metrics(at)["Conversions"][0] == "4.0"  # the winter campaign
    assert metrics(at)["Media cost"][0] == "$50"


def test_data_health_counts_loads_rejects_and_latest_model_metrics(page):
    at = page("views/data_health.py")
    assert metrics(at) == {"Rows loaded": ("100", None), "Rows quarantined": ("3", None),
                           "Failed batches": ("1", None)}
    loads, rejects, models = (d.value for d in at.dataframe)
    assert loads.batches.tolist() == [2]
    assert rejects.rows.tolist() == [3]
    assert models[["model_version", "value"]].values.tolist() == [["3", 0.75]]
    assert len(at.get("download_button")) == 3


def test_team_filter_in_the_url_narrows_reps_and_numbers(page):
    at = page("views/pipeline.py", range=HALF_YEAR, team="West")
    assert sorted(at.dataframe[0].value.deal_id) == [3, 4, 6]
    assert metrics(at)["Open pipeline"][0] == "$1,500"
    team, rep = at.multiselect
    assert (team.label, team.value, rep.options) == ("Team", ["West"], ["Bob"])

    at = page("views/overview.py", range=PERIOD, team="East")
    assert metrics(at)["Bookings (won)"][0] == "$2,000"  # Ann's deal 2 only
    assert metrics(at)["New leads"][0] == "2"  # Ann's leads 1 and 3


def test_picking_a_filter_writes_it_into_the_url(page):
    at = page("views/pipeline.py", range=HALF_YEAR)
    assert "rep" not in at.query_params
    rep = next(m for m in at.multiselect if m.label == "Rep")
    rep.select("Bob").run()
    assert at.query_params["rep"] == "Bob"
    assert sorted(at.dataframe[0].value.deal_id) == [3, 4, 6]


def test_leads_segment_and_rep_filters(page):
    at = page("views/leads.py", range=HALF_YEAR, segment="software")
    assert at.dataframe[0].value.lead_id.tolist() == [1, 5]
    at = page("views/leads.py", range=HALF_YEAR, rep="Bob")
    assert at.dataframe[0].value.lead_id.tolist() == [2, 5]


def test_campaign_filter_in_the_url(page):
    at = page("views/campaigns.py", range=HALF_YEAR, campaign="brand")
    assert metrics(at) == {"Conversions": ("1.5", None), "Attributed revenue": ("$2,500", None),
                           "Media cost": ("$2,000", None)}


def test_pipeline_walks_open_pipeline_between_the_range_ends(page):
    at = page("views/pipeline.py", range=PERIOD)
    steps = next(d.value for d in at.dataframe if "step" in d.value)
    assert steps.set_index("step").amount.to_dict() == {
        "Start": 7900, "New": 1500, "Increased": 500, "Decreased": 0, "Won": -3000,
        "Lost": -800, "Removed": -100, "End": 6000}
    assert any("2026-03-31 against 2026-06-30" in c.value for c in at.caption)

    at = page("views/pipeline.py", range=PERIOD, rep="Ann")
    steps = next(d.value for d in at.dataframe if "step" in d.value)
    assert steps.set_index("step").amount.to_dict() == {
        "Start": 4900, "New": 0, "Increased": 500, "Decreased": 0, "Won": 0, "Lost": -800,
        "Removed": -100, "End": 4500}


def test_pipeline_forecast_against_target_and_its_accuracy(page):
    at = page("views/pipeline.py", range=PERIOD)
    forecast = next(d.value for d in at.dataframe if "p50" in d.value)
    assert forecast.p50.tolist() == [5000, 200]  # the latest forecast of each period
    assert forecast.booked.tolist() == [5000, 0]  # deals 2 and 3 won in May
    assert forecast.target.tolist() == [5000, 1000]
    values = metrics(at)
    assert values["Mean absolute error (P50)"][0] == "83%"  # (2000/3000 + 200/200) / 2
    assert values["Booked within P10 to P90"][0] == "50%"  # May yes, June no

    at = page("views/pipeline.py", range=PERIOD, rep="Bob")
    forecast = next(d.value for d in at.dataframe if "p50" in d.value)
    assert forecast.target.fillna(0).tolist() == [3000, 0]


def test_funnel_by_cohort_stage_durations_and_velocity(page):
    at = page("views/funnel.py", range=PERIOD)
    cohorts, durations, reps, teams = (d.value for d in at.dataframe)
    assert cohorts[["leads", "mqls", "sqls", "opportunities", "won"]].values.tolist() == [
        [2, 2, 1, 1, 1], [2, 1, 1, 0, 0]]
    assert cohorts.lead_to_mql_days.tolist() == [1.5, 10.0]
    assert cohorts.mql_rate.tolist() == [1.0, 0.5]
    assert cohorts.sql_from_previous.tolist() == [0.5, 1.0]
    discovery = durations.set_index("stage_name").loc["Discovery"]
    assert (discovery.visits, discovery.median_days, discovery.avg_days) == (2, 10.0, 10.0)
    assert durations.set_index("stage_name").deals_in_stage_now.to_dict() == {
        "Discovery": 0, "Proposal": 1}
    assert len(at.get("download_button")) == 4

    at = page("views/funnel.py", range=HALF_YEAR)
    reps, teams = (d.value for d in at.dataframe[2:])
    by_rep = reps.set_index("rep")
    assert by_rep.opportunities.to_dict() == {"Ann": 4, "Bob": 3}
    assert by_rep.velocity_per_day.round(2).to_dict() == {"Ann": 133.33, "Bob": 50.0}
    assert teams.set_index("team").velocity_per_day.round(2).to_dict() == {
        "East": 133.33, "West": 50.0}

    at = page("views/funnel.py", range=PERIOD, rep="Bob")
    assert at.dataframe[0].value[["cohort", "leads"]].values.tolist()[0][1] == 1


def test_engagement_email_responses_sentiment_and_alerts(page):
    at = page("views/engagement.py", range=PERIOD)
    values = metrics(at)
    assert (values["Opens"][0], values["Clicks"][0], values["Click-to-open"][0]) == (
        "1", "1", "100%")
    responses, sentiment, alerts = (d.value for d in at.dataframe)
    assert responses.inbound.tolist() == [2, 1]
    assert responses.median_response_hours.tolist()[0] == 3.0
    assert sentiment.set_index(["account_name", "week"]).sentiment.round(2).tolist() == [
        0.45, 0.5, -0.6]
    assert alerts.account_name.tolist() == ["Beta"]
    assert alerts.unanswered_inbound.tolist() == [1]
    assert len(at.get("download_button")) == 4

    at = page("views/engagement.py", range=PERIOD, rep="Ann", account="Acme")
    assert at.dataframe[1].value.account_name.unique().tolist() == ["Acme"]
    assert "No account needs attention." in [i.value for i in at.info]

    at = page("views/engagement.py", range=PERIOD, campaign="winter")
    assert "No email opens or clicks in this period." in [i.value for i in at.info]
