"""Every page without a database, and on an empty migrated one: plain words, no exception."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from salesops.warehouse import mart_statements
from tests.dashboards.dashboard_app import READ_PAGES, marts_aside, run_page
from tests.dashboards.marts_rows import DEALS, HALF_YEAR, LEADS


@pytest.mark.parametrize("page", READ_PAGES)
def test_without_a_database_every_page_says_so(page, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    at = run_page(page)
    assert at.warning, "expected a warning that no database is configured"
    assert all("No database is configured" in w.value for w in at.warning)
    assert not at.dataframe and not at.metric


@pytest.fixture
def empty_database(database_url: str, clean_db: sa.Engine, monkeypatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    with marts_aside(clean_db):
        yield database_url


#: What each page says on a database that was migrated and never loaded.
EXPECTED = {
    "views/overview.py": ["table marts.fct_deals has not been built",
                          "table marts.fct_leads_daily has not been built"],
    "views/pipeline.py": ["table marts.fct_deals has not been built",
                          "(marts.fct_pipeline_daily) has not been built yet",
                          "(marts.fct_pipeline_daily_snapshot) has not been built yet",
                          "No forecast yet: the table marts.fct_deals has not been built"],
    "views/funnel.py": ["(marts.fct_leads_daily) has not been built yet",
                        "(marts.fct_deal_stage_history) has not been built yet",
                        "table marts.sales_velocity has not been built"],
    "views/engagement.py": ["table marts.fct_touchpoints_daily has not been built",
                            "(marts.fct_response_times_daily) has not been built yet"]
                           + ["(marts.fct_account_engagement_daily) has not been built yet"] * 2,
    "views/leads.py": ["table marts.fct_lead_scores_daily has not been built"],
    "views/campaigns.py": ["table marts.attribution_by_channel has not been built",
                           "table marts.fct_campaign_performance has not been built"],
    "views/data_health.py": ["No source has loaded yet", "No row has been quarantined",
                             "No model has been trained yet",
                             "No drift check yet: the table marts.fct_model_drift has not "
                             "been built"],
}


@pytest.mark.parametrize("page", READ_PAGES)
def test_on_an_empty_database_every_page_says_what_is_missing(page, empty_database):
    at = run_page(page)
    infos = [i.value for i in at.info]
    assert len(infos) == len(EXPECTED[page]), infos
    for expected, said in zip(EXPECTED[page], infos, strict=True):
        assert expected in said
    assert not at.warning and not at.dataframe and not at.get("download_button")


def test_on_an_empty_deals_mart_the_overview_says_there_are_no_deals_yet(empty_database,
                                                                         clean_db):
    """A built but empty mart (dbt ran on no data): no error, a plain 'no deals yet'."""
    with clean_db.begin() as conn:
        conn.execute(sa.text("""
            create table marts.fct_deals (deal_id bigint, deal_name text, owner_id bigint,
                owner_name text, owner_team_id bigint, owner_team_name text,
                stage_name text, stage_position int,
                forecast_category text,
                amount numeric, weighted_amount numeric, currency text,
                amount_reporting numeric, weighted_amount_reporting numeric, probability numeric,
                is_closed boolean, is_won boolean, created_date date, closed_date date,
                age_days int, days_in_current_stage int, lead_source text)"""))
    at = run_page("views/overview.py")
    infos = [i.value for i in at.info]
    assert "No deals yet" in infos[0] and "marts.fct_leads_daily has not been built" in infos[1]
    assert not at.metric


def test_campaigns_without_touchpoint_sums_says_cost_is_missing(empty_database, clean_db):
    """Attribution built, touchpoints not: the page shows attribution and says why no cost."""
    with clean_db.begin() as conn:
        conn.execute(sa.text("""
            create table marts.attribution_by_channel as
            select 'linear'::text as model, 'lead'::text as conversion_type,
                   'email'::text as channel, 'spring'::text as campaign,
                   current_date as period, 1.0::float8 as conversions,
                   100::numeric(16, 2) as revenue, 1 as converted_leads, 0 as won_deals,
                   1 as credited_touchpoints"""))
    at = run_page("views/campaigns.py")
    assert any("marts.fct_touchpoints_daily has not been built" in c.value for c in at.caption)
    assert "Media cost" not in [m.label for m in at.metric]
    assert len(at.dataframe) == 3


def test_before_any_model_ran_leads_and_forecasts_say_so(empty_database, clean_db):
    """Marts built, no model run yet: no scores on the leads, no bookings forecast."""
    with clean_db.begin() as conn:
        conn.execute(sa.text(DEALS))
        conn.execute(sa.text(LEADS))
        conn.execute(sa.text("update marts.fct_leads set score = null, score_band = null, "
                             "score_probability = null"))
        for sql in mart_statements("fct_lead_scores_daily"):
            conn.execute(sa.text(sql))
    at = run_page("views/leads.py", range=HALF_YEAR)
    infos = [i.value for i in at.info]
    assert infos[0].startswith("No lead has a score yet: the lead-scoring model has not run")
    assert infos.count(infos[0]) == 2  # the list and the distribution
    assert at.dataframe[0].value.lead_id.tolist() == [2, 1, 5]  # unscored: newest first

    at = run_page("views/pipeline.py", range=HALF_YEAR)
    assert any(i.value.startswith("No forecast covers this period: the forecasting model has "
                                  "not run for it yet") for i in at.info)
    assert len(at.dataframe[0].value) == 7  # the deals still show
