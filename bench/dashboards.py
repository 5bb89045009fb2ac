"""Dashboards: every page that reads the database, run as streamlit runs it (AppTest), on
marts generated at scale. Measured: the time a page spends in its queries (every call of
`dashboards.data.query`), on its first run with an empty cache (the queries hit
PostgreSQL) against a rerun served from the cache. The whole run of each page (queries,
charts and AppTest's own overhead) is printed alongside.

    python -m bench.dashboards [--scale N]

`--scale` is the number of contacts (default 100,000); the marts are sized from it: half
as many leads (each with a score), a twentieth as many deals, two touchpoints and one
interaction per contact; the marts that add those up (daily leads, lead scores,
touchpoints, response times, account engagement, lead segments) are built from their dbt
models' own SQL (`salesops.warehouse.mart_statements`). Runs against the embedded server
in a temporary folder unless DATABASE_URL is set (then in a fresh database on that server,
dropped afterwards). The issue's targets: under 300 ms per page cold, under 50 ms cached.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from salesops.db import get_engine
from salesops.warehouse import mart_statements

APP = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
PAGES = ["views/overview.py", "views/pipeline.py", "views/funnel.py", "views/leads.py",
         "views/campaigns.py", "views/engagement.py", "views/data_health.py"]
RANGE = "2025-07-01..2026-06-30"

#: Set-based generation of the marts the pages read (columns as the pages expect them).
#: :n is the number of contacts; days run over the two years before 2026-07-01.
MARTS_SQL = [
    "create schema if not exists marts",
    """create table marts.fct_deals as
       select i as deal_id, 'Deal ' || i as deal_name, 1 + i % 50 as owner_id,
              'Rep ' || (1 + i % 50) as owner_name, 1 + (i % 50) % 5 as owner_team_id,
              'Team ' || (1 + (i % 50) % 5) as owner_team_name,
              (array['Discovery','Qualify','Proposal','Negotiate','Won','Lost'])[1 + i % 6]
                  as stage_name, 1 + i % 6 as stage_position,
              (array['pipeline','best_case','commit','commit','closed','closed'])[1 + i % 6]
                  as forecast_category,
              (1000 + (i * 7919) % 50000)::numeric(16, 2) as amount,
              ((1000 + (i * 7919) % 50000) * 0.3)::numeric(16, 2) as weighted_amount,
              30 as probability, i % 6 >= 4 as is_closed, i % 6 = 4 as is_won,
              date '2024-07-01' + i % 730 as created_date,
              case when i % 6 >= 4 then date '2024-07-01' + i % 730 + i % 90 end
                  as closed_date,
              i % 200 as age_days, i % 40 as days_in_current_stage,
              (array['web','event','referral','partner'])[1 + i % 4] as lead_source
       from generate_series(1, (:n / 20)::int) i""",
    """create table marts.fct_leads as
       select i::bigint as lead_id, (1 + i % 50)::bigint as owner_id, 'Company ' || i % 9973
                  as company, 'Title' as title,
              (array['web','event','referral','partner','ads','list'])[1 + i % 6]
                  as lead_source,
              (array['software','retail','finance','health','media','energy'])[1 + i % 6]
                  as industry,
              (array['new','working','nurturing','qualified','disqualified','converted'])
                  [1 + i % 6] as status,
              timestamptz '2024-07-01' + (i % 730) * interval '1 day' as created_at,
              i % 6 = 5 as is_converted, i % 6 >= 4 as is_closed,
              case when i % 6 >= 4 then timestamptz '2024-07-01'
                  + (i % 730 + 20) * interval '1 day' end as closed_at,
              case when i % 2 = 0 then timestamptz '2024-07-01'
                  + (i % 730 + 3) * interval '1 day' end as mql_at,
              case when i % 4 = 0 then timestamptz '2024-07-01'
                  + (i % 730 + 9) * interval '1 day' end as sql_at,
              case when i % 8 = 0 then timestamptz '2024-07-01'
                  + (i % 730 + 20) * interval '1 day' end as opportunity_at,
              case when i % 24 = 0 then timestamptz '2024-07-01'
                  + (i % 730 + 60) * interval '1 day' end as won_at,
              (i * 37) % 100 as score,
              case when (i * 37) % 100 >= 75 then 'A' when (i * 37) % 100 >= 50 then 'B'
                   when (i * 37) % 100 >= 25 then 'C' else 'D' end as score_band,
              ((i * 37) % 100) / 100.0 as score_probability
       from generate_series(1, (:n / 2)::int) i""",
    "insert into app.leads (id) overriding system value "
    "select generate_series(1, (:n / 2)::int)",
    """insert into ml.lead_scores (lead_id, score, band, probability, reasons, model_name,
                                   model_version, mlflow_run_id, scored_at)
       select i, s, case when s >= 75 then 'A' when s >= 50 then 'B' when s >= 25 then 'C'
                         else 'D' end, s / 100.0,
              '[{"feature": "email_clicks", "value": 3, "contribution": 0.4,
                 "direction": "up"}]', 'lead_score', '1', 'run', timestamptz '2026-06-01'
       from (select i, (i * 37) % 100 as s from generate_series(1, (:n / 2)::int) i) x""",
    """create table marts.fct_touchpoints as
       select i as touchpoint_id,
              (array['email','paid_search','organic_search','paid_social','events'])
                  [1 + i % 5] as channel,
              'Campaign ' || i % 20 as campaign,
              (array['session','ad_click','email_open','email_click','form_fill'])
                  [1 + i % 5] as event_type,
              date '2024-07-01' + i % 730 as occurred_date,
              (i % 7)::numeric(12, 2) as cost
       from generate_series(1, 2 * :n) i""",
    """create table marts.attribution_by_channel as
       select m as model, t as conversion_type, c as channel, 'Campaign ' || k as campaign,
              (date '2024-07-01' + (p || ' months')::interval)::date as period,
              (1 + k % 3)::float8 as conversions, (1000 * k)::numeric(16, 2) as revenue,
              case t when 'lead' then 1 + k % 3 else 0 end as converted_leads,
              case t when 'deal_won' then 1 + k % 3 else 0 end as won_deals,
              2 as credited_touchpoints
       from unnest(array['first_touch','last_touch','linear','time_decay','w_shaped']) m,
            unnest(array['lead','deal_won']) t,
            unnest(array['email','paid_search','organic_search','paid_social','events']) c,
            generate_series(0, 19) k, generate_series(0, 23) p""",
    """create table marts.fct_campaign_performance as
       select 'Campaign ' || k as campaign_name,
              (array['email','paid_search','organic_search','paid_social','events'])
                  [1 + k % 5] as channel, 'running' as status,
              date '2024-07-01' + k * 30 as start_date, null::date as end_date,
              100 + k as leads, 10 + k as converted_leads, 5 + k as opportunities,
              2 + k % 3 as won_deals, (50000 + k)::numeric(18, 2) as pipeline,
              (20000 + k)::numeric(18, 2) as revenue, 5000::numeric(18, 2) as cost,
              'actual_cost' as cost_source, 3.0::numeric(12, 4) as roi
       from generate_series(0, 19) k""",
    """create table marts.fct_deal_stage_history as
       select deal_id, 'Stage ' || s as current_stage_name, s as stage_position,
              false as is_closed_stage, s = 4 and not is_closed as is_current,
              created_date + (s * 10) * interval '1 day' as entered_at,
              created_date + (s * 10 + 10) * interval '1 day' as exited_at,
              10::numeric as duration_days
       from marts.fct_deals, generate_series(1, 4) s""",
    """create table marts.fct_pipeline_daily_snapshot as
       select (date '2024-07-31' + (m || ' months')::interval)::date as snapshot_date,
              deal_id, owner_id, owner_team_id, 1 as pipeline_id, stage_position as stage_id,
              stage_name, stage_position, forecast_category, probability, amount,
              amount as amount_reporting
       from marts.fct_deals, generate_series(0, 23) m
       where not (is_closed and m % 3 = 0)
       order by 1, 2""",

    """create table marts.dim_accounts as
       select i::bigint as account_id, 'Account ' || i as account_name
       from generate_series(0, 1999) i""",
    """create table marts.dim_users as
       select i::bigint as user_id, 'Rep ' || i as full_name,
              (1 + i % 5)::bigint as team_id, 'Team ' || (1 + i % 5) as team_name,
              true as is_sales_rep
       from generate_series(1, 50) i""",
    """create table marts.sales_velocity as
       select p::date as period, d as dimension, k::text as dimension_key,
              case d when 'rep' then 'Rep ' || k else 'Team ' || k end as dimension_label,
              10 + k % 7 as opportunities_created, 6 as deals_closed, 2 + k % 3 as deals_won,
              (20000 + 100 * k)::numeric(18, 2) as won_amount,
              (30 + k % 40)::numeric(10, 1) as avg_cycle_days
       from generate_series(date '2024-07-01', date '2026-06-01', interval '1 month') p,
            (select 'rep' as d, generate_series(1, 50) as k
             union all select 'team', generate_series(1, 5)) dims""",
    """create table marts.fct_interactions as
       select i as interaction_id, (i % 2000)::bigint as account_id,
              (1 + i % 50)::bigint as user_id, 'email' as kind,
              case when i % 2 = 0 then 'inbound' else 'outbound' end as direction,
              timestamptz '2024-07-01' + (i % 730) * interval '1 day' as occurred_at,
              date '2024-07-01' + i % 730 as occurred_date,
              case when i % 10 <> 0 then (i % 600) / 60.0 end as hours_to_reply,
              (array['negative','neutral','positive'])[1 + i % 3] as sentiment_label,
              ((i % 3) - 1) * 0.5 as sentiment_score
       from generate_series(1, :n) i""",
    """insert into ml.forecasts (model_name, model_version, mlflow_run_id, as_of,
                                 period_start, period_grain, p10, p50, p90)
       select 'bookings', '1', 'run', (d - interval '10 days')::date, d::date, 'month',
              1e5, 2e5, 3e5
       from generate_series(date '2024-07-01', date '2026-06-01', interval '1 month') d""",
    """create table marts.sales_targets as
       select row_number() over () as sales_target_id, 'month' as period_grain,
              d::date as period_start, (d + interval '1 month' - interval '1 day')::date
                  as period_end, level, team_id, owner_id, amount::numeric(16, 2)
                  as target_amount
       from generate_series(date '2024-07-01', date '2026-06-01', interval '1 month') d,
            (select 'rep' as level, null::bigint as team_id, o::bigint as owner_id,
                    5000 as amount from generate_series(1, 50) o
             union all
             select 'team', t, null, 50000 from generate_series(1, 5) t) holders""",
    # the indexes the dbt models declare (config indexes) on the columns the pages filter
    "create index on marts.fct_deals (owner_id)",
    "create index on marts.fct_deals (created_date)",
    "create index on marts.fct_deals (closed_date)",
    "create index on marts.fct_leads (created_at)",
    "create index on marts.fct_leads (owner_id)",
    "create index on marts.fct_leads (score desc nulls last, created_at desc, lead_id) "
    "where not is_closed",
    "create index on marts.fct_touchpoints (occurred_date)",
    "create unique index on marts.fct_pipeline_daily_snapshot (snapshot_date, deal_id) "
    "include (owner_id, amount_reporting)",
    "create index on marts.fct_pipeline_daily_snapshot (owner_id, snapshot_date)",
    "create index on marts.fct_interactions (occurred_date)",
    "create index on marts.fct_interactions (user_id)",
]

#: The marts the pages read that add up the generated ones: built from their dbt models' own
#: SQL, with the indexes the models declare.
DAILY_MARTS = ("fct_leads_daily", "fct_lead_scores_daily", "dim_lead_segments",
               "fct_touchpoints_daily", "fct_response_times_daily",
               "fct_account_engagement_daily", "fct_pipeline_daily")


def build(url: str, scale: int) -> None:
    engine = get_engine(url)
    statements = [*MARTS_SQL, *(sql for mart in DAILY_MARTS for sql in mart_statements(mart)),
                  "analyze"]
    for i, sql in enumerate(statements, 1):
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(sql), {"n": scale} if ":n" in sql else {})
        print(f"  [{i}/{len(statements)}] {' '.join(sql.split()[:4])[:60]} "
              f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)


class QueryClock:
    """Wraps `dashboards.data.query` (the pages look it up on every run) to add up the time
    spent in it."""

    def __init__(self) -> None:
        from dashboards import data

        self.spent = 0.0
        inner = data.query

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - start

        data.query = timed


def run_page(page: str, clock: QueryClock) -> tuple[float, float]:
    """One run of `page`: (ms in queries, ms in all); fails loudly if the page raised."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.query_params["range"] = RANGE
    clock.spent = 0.0
    start = time.perf_counter()
    at.switch_page(page).run()
    elapsed = (time.perf_counter() - start) * 1000
    if at.exception:
        raise SystemExit(f"{page} raised: {at.exception[0].message}")
    return clock.spent * 1000, elapsed


def measure(url: str, repeat: int) -> dict[str, tuple[float, float]]:
    """Per page: the best query time cold (cache emptied first) and cached, ms."""
    import streamlit as st

    os.environ["DATABASE_URL"] = url
    clock = QueryClock()
    run_page(PAGES[0], clock)  # imports and the first connection, outside the timing
    times = {}
    for page in PAGES:
        cold, cached = [], []
        for _ in range(repeat):
            st.cache_data.clear()
            cold.append(run_page(page, clock))
            cached.append(run_page(page, clock))
        (cold_q, cold_all), (cached_q, cached_all) = min(cold), min(cached)
        times[page] = (cold_q, cached_q)
        print(f"  {page:26} queries: cold {cold_q:7.1f} ms, cached {cached_q:6.1f} ms; "
              f"whole run: cold {cold_all:7.1f} ms, cached {cached_all:7.1f} ms",
              file=sys.stderr)
    return times


def run(url: str, scale: int, repeat: int) -> dict:
    print(f"generating marts for {scale:,} contacts", file=sys.stderr)
    build(url, scale)
    print(f"running {len(PAGES)} pages, best of {repeat}", file=sys.stderr)
    times = measure(url, repeat)
    get_engine(url).dispose()
    cold = statistics.median(c for c, _ in times.values())
    cached = statistics.median(c for _, c in times.values())
    print(f"queries of the slowest page: cold {max(c for c, _ in times.values()):.1f} ms, "
          f"cached {max(c for _, c in times.values()):.1f} ms", file=sys.stderr)
    return {"bench": "dashboards", "scale": scale, "value": round(cold, 1),
            "unit": "ms in queries per page, cold (median)",
            "baseline": "the same queries from the cache (median)",
            "baseline_value": round(cached, 1), "ratio": round(cold / cached, 2),
            "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboards",
                                     description="Dashboard pages cold against cached.")
    parser.add_argument("--scale", type=int, default=100_000, help="contacts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page; the best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as tmp, \
            scratch_database(Path(tmp), "bench_dashboards") as url:
        result = run(url, args.scale, args.repeat)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
