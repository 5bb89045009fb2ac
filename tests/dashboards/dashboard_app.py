"""Run the dashboards under streamlit's AppTest, and keep real marts out of the way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"

#: page file (relative to app.py) -> its title, for the pages that read the database
READ_PAGES = {
    "views/overview.py": "Overview",
    "views/pipeline.py": "Pipeline",
    "views/funnel.py": "Funnel and velocity",
    "views/leads.py": "Leads",
    "views/campaigns.py": "Campaigns and attribution",
    "views/engagement.py": "Engagement and sentiment",
    "views/data_health.py": "Data health",
}
#: every page; the work queue reads and writes through the API only
PAGES = {**READ_PAGES, "views/work_queue.py": "Work queue"}

#: The marts relations the pages read.
MARTS = ("fct_deals", "fct_leads", "fct_leads_daily", "attribution_by_channel",
         "fct_touchpoints_daily",
         "fct_deal_stage_history", "fct_pipeline_daily_snapshot", "fct_pipeline_daily",
         "fct_interactions",
         "sales_targets", "dim_accounts", "dim_users", "sales_velocity",
         "fct_campaign_performance", "fct_model_drift", "fct_response_times_daily",
         "dim_lead_segments", "fct_lead_scores_daily", "fct_account_engagement_daily")
ASIDE = "__dashboards_aside"


def run_page(page: str, session: dict | None = None, **query_params: str) -> AppTest:
    """Run the app on `page` with these URL query parameters (and session state); fails on
    a script exception."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params.update(query_params)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == PAGES[page]
    return at


@contextmanager
def marts_aside(engine: sa.Engine) -> Iterator[None]:
    """Move the marts relations the pages read out of the way (other tests in the session
    build real ones with dbt) and put them back afterwards; what the block creates under
    those names is dropped."""
    with engine.begin() as conn:
        conn.execute(sa.text("create schema if not exists marts"))
        moved = [name for name in MARTS if conn.execute(
            sa.text("select to_regclass(:r) is not null"), {"r": f"marts.{name}"}).scalar()]
        for name in moved:
            conn.execute(sa.text(f"alter table marts.{name} rename to {name}{ASIDE}"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for name in MARTS:
                conn.execute(sa.text(f"drop table if exists marts.{name}"))
            for name in moved:
                conn.execute(sa.text(f"alter table marts.{name}{ASIDE} rename to {name}"))
