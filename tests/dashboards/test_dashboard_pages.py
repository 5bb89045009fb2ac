"""Every page on a handful of hand-made marts rows (marts_rows.py): the numbers it shows
are the ones computed by hand, and the filters in the URL change them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from dashboards.lead_queue import FIRST_PAGE, QUEUE_SQL, after
from salesops import reads
from tests.dashboards.dashboard_app import MARTS, run_page
from tests.dashboards.marts_rows import HALF_YEAR, PERIOD, WALK

MARTS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"


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
        "Bookings target": ("$6,000", None),                  # May 5,000 + June 1,000
        "Bookings against target": ("83%", None),             # no target before
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
        "Bookings target": ("$3,000", None),  # Ann's own: May 2,000 + June 1,000
        "Bookings against target": ("67%", None),
        "Open pipeline at period end": ("$4,000", "+0.0%"),
        "Win rate": ("100%", "+50.0 pp"),
        "Average cycle (won deals)": ("30.0 days", "+0.0%"),
        "New leads": ("2", "+100.0%"),
    }
    assert {m.label: m.value for m in at.multiselect} == {"Team": [], "Rep": ["Ann"]}
    assert at.query_params["rep"] == "Ann"


def test_targets_prorate_over_the_range_and_are_read_one_level_at_a_time(page, engine):
    """A company-wide quarter target of 9,100 (100 a day over its 91 days) wins over the
    reps' monthly ones when no rep is picked; a rep filter reads the reps' own."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into marts.sales_targets values (99, 'quarter', '2026-04-01', "
            "'2026-06-30', 'company', null, null, 9100)"))
    try:
        at = page("views/overview.py", range="2026-04-01..2026-04-10")
        assert metrics(at)["Bookings target"] == ("$1,000", None)
        at = page("views/overview.py", range=PERIOD, rep="Ann")
        assert metrics(at)["Bookings target"] == ("$3,000", None)
        at = page("views/pipeline.py", range=PERIOD)
        forecast = next(d.value for d in at.dataframe if "p50" in d.value)
        assert forecast.target.round(2).tolist() == [3100, 3000]  # May 31 days, June 30
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("delete from marts.sales_targets where sales_target_id = 99"))


def test_pipeline_lists_deals_and_filters_by_rep(page):
    at = page("views/pipeline.py", range=HALF_YEAR)
    assert len(at.dataframe[0].value) == 7
    values = metrics(at)
    assert values["Open pipeline"][0] == "$5,500"
    assert values["Weighted pipeline"][0] == "$2,550"
    assert values["Win rate"][0] == "60%"  # 3 won of 5 closed
    assert [b.key for b in at.get("download_button")] == [
        "download-deals", "download-pipeline_by_day", "download-pipeline_change",
        "download-bookings_forecast",
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
    assert queue.next_best_action.tolist()[:2] == ["call", None]  # rank 1 of the latest run
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


@pytest.mark.parametrize("size", [1, 2])
def test_the_lead_list_pages_in_keyset_order_to_the_unscored_last(data_url, size):
    params = {"start": "2026-01-01", "end": "2026-06-30", "owners": None, "sources": [],
              "industries": [], "bands": [], "limit": size}
    listed, page = [], FIRST_PAGE
    while not (rows := reads.read(data_url, QUEUE_SQL, {**params, **page})).empty:
        assert len(rows) <= size
        listed += rows.lead_id.tolist()
        page = after(rows.iloc[-1])
    assert listed == [1, 2, 5]  # by score, lead 5 (no score) last, each once


def test_campaigns_page_by_model_and_side_by_side(page):
    at = page("views/campaigns.py", range=HALF_YEAR)
    assert at.selectbox[1].value == "linear"
    assert metrics(at) == {"Conversions": ("3.0", None), "Attributed revenue": ("$5,000", None),
                           "Media cost": ("$2,800", None)}
    by_channel, by_campaign, side_by_side, campaigns = (d.value for d in at.dataframe)
    assert campaigns.campaign_name.tolist() == ["Brand", "Spring"]  # winter was in 2025
    assert campaigns.roi.fillna(-9).tolist() == [-9, 2.0]  # brand's cost is unknown
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
    assert len(at.get("download_button")) == 4


def test_campaigns_model_and_channel_in_the_url(page):
    at = page("views/campaigns.py", range=HALF_YEAR, model="first_touch")
    assert metrics(at)["Conversions"][0] == "4.0"

    at = page("views/campaigns.py", range=HALF_YEAR, model="linear", channel="email")
    assert metrics(at) == {"Conversions": ("1.5", None), "Attributed revenue": ("$2,500", None),
                           "Media cost": ("$500", None)}

    at = page("views/campaigns.py", range=HALF_YEAR, model="last_touch", channel="email")
    assert any("No conversions under the last_touch model" in i.value for i in at.info)
    assert len(at.dataframe) == 2  # side by side still shows the email channel
    assert at.dataframe[1].value.campaign_name.tolist() == ["Spring"]  # email campaigns

    at = page("views/campaigns.py", range="2025-06-01..2025-06-30")
    assert metrics(at)["Conversions"][0] == "4.0"  # the winter campaign
    assert metrics(at)["Media cost"][0] == "$50"


def test_data_health_counts_loads_rejects_and_latest_model_metrics(page):
    at = page("views/data_health.py")
    assert metrics(at) == {"Rows loaded": ("100", None), "Rows quarantined": ("3", None),
                           "Failed batches": ("1", None)}
    loads, rejects, models, drift = (d.value for d in at.dataframe)
    assert loads.batches.tolist() == [2]
    assert rejects.rows.tolist() == [3]
    assert models[["model_version", "value"]].values.tolist() == [["3", 0.75]]
    assert len(at.get("download_button")) == 4
    assert [i.value for i in at.info] == [
        "Never loaded: email, hubspot, salesforce, touchpoints, webforms. Their numbers stay "
        "empty on every page until they load: run their ingestion in the Dagster UI."]
    # Model drift: each model's latest check, its largest PSI first; the flagged model warned
    assert drift[["model_name", "feature"]].values.tolist() == [
        ["lead_scoring", "email_opens"], ["lead_scoring", "probability"],
        ["lead_scoring", "lead_source"], ["win_probability", "amount"]]
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1
    assert "lead_scoring" in warnings[0] and "email_opens, probability" in warnings[0]


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


def test_campaigns_count_one_conversion_type_and_offer_every_model(page):
    at = page("views/campaigns.py", range=HALF_YEAR)
    conversion, model = at.sidebar.selectbox[0], at.sidebar.selectbox[1]
    assert (conversion.value, at.query_params["conversion"]) == ("lead", "lead")
    assert model.options == ["first_touch", "last_touch", "linear", "w_shaped"]
    assert metrics(at)["Conversions"][0] == "3.0"  # the lead rows only, not the deal rows

    at = page("views/campaigns.py", range=HALF_YEAR, conversion="deal_won")
    assert at.sidebar.selectbox[0].value == "deal_won"
    assert metrics(at)["Conversions"][0] == "1.0"
    assert metrics(at)["Attributed revenue"][0] == "$2,000"
    side_by_side = at.dataframe[2].value.set_index("channel")
    assert side_by_side.to_dict("index")["paid_search"] == {
        "linear conversions": 0.5, "w_shaped conversions": 2.0,
        "linear revenue": 1000.0, "w_shaped revenue": 7000.0}

    at = page("views/campaigns.py", range=HALF_YEAR, conversion="deal_won", model="w_shaped")
    assert at.query_params["model"] == "w_shaped"
    assert metrics(at)["Conversions"][0] == "2.0"


def test_campaign_filter_in_the_url(page):
    at = page("views/campaigns.py", range=HALF_YEAR, campaign="brand")
    assert metrics(at) == {"Conversions": ("1.5", None), "Attributed revenue": ("$2,500", None),
                           "Media cost": ("$2,000", None)}


def test_pipeline_walks_open_pipeline_between_the_range_ends(page):
    at = page("views/pipeline.py", range=WALK)
    steps = next(d.value for d in at.dataframe if "step" in d.value)
    assert steps.set_index("step").amount.to_dict() == {
        "Start": 9700, "New": 1500, "Increased": 500, "Decreased": 0, "Won": -5000,
        "Lost": -500, "Removed": -200, "End": 6000}  # deal 10: 100 at a rate of 2
    assert any("2026-04-30 against 2026-06-30" in c.value for c in at.caption)

    at = page("views/pipeline.py", range=WALK, rep="Ann")
    steps = next(d.value for d in at.dataframe if "step" in d.value)
    assert steps.set_index("step").amount.to_dict() == {
        "Start": 6200, "New": 0, "Increased": 500, "Decreased": 0, "Won": -2000, "Lost": 0,
        "Removed": -200, "End": 4500}


def test_pipeline_as_it_stood_on_the_range_end(page):
    """From fct_pipeline_daily (built from its dbt model over the hand-made snapshot): the
    last day in the range, in the reporting currency, weighted by each day's probability."""
    at = page("views/pipeline.py", range=HALF_YEAR)
    values = metrics(at)
    assert values["Pipeline then"][0] == "$6,000"  # deals 5 (4,500) and 6 (1,500)
    assert values["Weighted then"][0] == "$2,850"  # 60% and 10%
    assert values["Open deals then"][0] == "2"
    assert any("the last day: 2026-06-30" in c.value for c in at.caption)

    at = page("views/pipeline.py", range="2026-01-01..2026-05-20", rep="Ann")
    values = metrics(at)
    assert values["Pipeline then"][0] == "$4,200"  # deal 5 on 2026-05-15
    assert values["Weighted then"][0] == "$2,520"
    assert any("the last day: 2026-05-15" in c.value for c in at.caption)


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
        [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]]
    assert cohorts.lead_to_mql_days.fillna(-1).tolist() == [2.0, -1, 1.0]
    assert cohorts.mql_rate.tolist() == [1.0, 0.0, 1.0]
    assert cohorts.won_rate.tolist() == [0.0, 0.0, 1.0]
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
    assert at.dataframe[0].value.leads.tolist() == [1]  # lead 2, in May
    bob = at.dataframe[1].value.set_index("stage_name")  # deal 6 only
    assert bob.visits.to_dict() == {"Discovery": 1, "Proposal": 1}
    assert bob.avg_days.to_dict() == {"Discovery": 10.0, "Proposal": 50.0}
    reps, teams = (d.value for d in at.dataframe[2:])
    assert reps.rep.tolist() == ["Bob"] and teams.team.tolist() == ["West"]
    assert reps.opportunities.tolist() == [2]  # May and June only


def test_engagement_email_responses_sentiment_and_alerts(page):
    at = page("views/engagement.py", range=PERIOD)
    values = metrics(at)
    assert (values["Opens"][0], values["Clicks"][0], values["Click-to-open"][0]) == (
        "1", "1", "100%")
    responses, sentiment, alerts = (d.value for d in at.dataframe)
    assert responses.inbound.tolist() == [2, 1]
    assert responses.answered.tolist() == [2, 0]
    assert responses.avg_response_hours.tolist()[0] == 3.0  # (2 + 4) / 2
    assert responses.avg_response_hours.isna().tolist() == [False, True]
    assert sentiment.set_index(["account_name", "week"]).sentiment.round(2).tolist() == [
        0.45, 0.5, -0.6]
    assert alerts.account_name.tolist() == ["Beta"]
    assert alerts.unanswered_inbound.tolist() == [1]
    assert len(at.get("download_button")) == 4

    at = page("views/engagement.py", range=PERIOD, rep="Ann", account="Acme")
    assert at.dataframe[0].value.inbound.tolist() == [2]  # Ann's April messages only
    assert at.dataframe[1].value.account_name.unique().tolist() == ["Acme"]
    assert "No account needs attention." in [i.value for i in at.info]

    at = page("views/engagement.py", range=PERIOD, campaign="winter")
    assert "No email opens or clicks in this period." in [i.value for i in at.info]


def test_filters_follow_the_user_to_another_page(page):
    at = page("views/pipeline.py", range=HALF_YEAR, rep="Bob")
    at.query_params.clear()  # what navigating to another page does to the address
    at.switch_page("views/leads.py").run()
    assert not at.exception
    assert at.query_params["rep"] == "Bob" and at.query_params["range"] == HALF_YEAR
    assert at.dataframe[0].value.lead_id.tolist() == [2, 5]


def dbt_mart_columns() -> dict[str, set[str]]:
    """Each dbt mart's documented columns (dbt_project/models/marts/**/*.yml)."""
    columns = {}
    for path in MARTS_DIR.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            columns[model["name"]] = {c["name"] for c in model.get("columns", [])}
    return columns


def test_the_hand_made_marts_use_the_real_marts_columns(data_url, engine):
    """A page that reads a column the real mart lacks fails here, not in production."""
    with engine.connect() as conn:
        made = conn.execute(sa.text(
            "select table_name, array_agg(column_name::text) from information_schema.columns "
            "where table_schema = 'marts' and table_name = any(:names) group by 1"),
            {"names": list(MARTS)}).all()
    real = dbt_mart_columns()
    assert {table for table, _ in made} <= set(real)
    for table, columns in made:
        assert set(columns) <= real[table], (table, set(columns) - real[table])
