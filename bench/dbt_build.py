"""dbt build: the full build of the warehouse, then an incremental build after 1% new data.

    python -m bench.dbt_build [--scale N]

`--scale` is the number of contacts (default 50,000; the issue's scale is 1,000,000). The
app and raw tables are generated set-based (generate_series) in a fresh database: per
contact two touchpoints (raw.touchpoints__events), one lead for every second contact, one
deal for every fifth (with its stage history), one interaction for every second. Then:

1. `dbt build --full-refresh` (models, seeds and every dbt test): the baseline, what the
   daily `dbt_full_build` job runs;
2. 1% more contacts with their leads, deals, history, interactions and touchpoints, loaded
   later, then the incremental run of the hourly `dbt_incremental` job
   (`orchestration.dbt_args.incremental_build_args`: dbt's `incremental` selector, whose
   models recompute only the keys whose inputs changed, and whose data tests read only the
   rows the run wrote): the value.

Each build is timed after an untimed `dbt parse` with its vars (a job's steady state: its
previous run parsed the same vars). The ratio incremental / full is the issue's target
(<= 0.10). Every model's time and the
slowest 15 tests of each run go to stderr; the JSON line adds the ratio of node time spent in
models (`models_ratio`) and in tests (`tests_ratio`). Then the dashboard queries on
the marts (`DASHBOARD_QUERIES`, and the pipeline page's own reads of the snapshot marts,
`PIPELINE_PAGE_QUERIES`), best of three each; the slowest is printed (target under
300 ms) and added to the JSON line. `--skip-incremental` stops after the full build and
the queries; `--keep-database` (with DATABASE_URL) keeps the database to iterate on.
The pipeline snapshot is built over the last `--snapshot-days` days (var
`pipeline_snapshot_start`), as a daily job that started then would hold.
Runs against the embedded server in a temporary folder unless DATABASE_URL is set (then in
a fresh database on that server, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.database import peak_rss_mb, scratch_database
from dashboards.pipeline_history import BY_DAY_SQL, WALK_SQL
from orchestration.dbt_args import full_build_args, incremental_build_args
from salesops.db import get_engine
from salesops.warehouse import run_dbt

#: Reference data, once: a role, 5 teams, 50 reps, 20 campaigns, a pipeline of 5 stages,
#: one account per 20 contacts, and the load batch the raw rows belong to.
REFERENCE_SQL = [
    "insert into app.roles (id, name) overriding system value values (1, 'sales_rep')",
    "insert into app.teams (id, name) overriding system value "
    "select t, 'Team ' || t from generate_series(1, 5) t",
    "insert into app.users (id, email, full_name, role_id, team_id) overriding system value "
    "select u, 'rep' || u || '@bench.example', 'Rep ' || u, 1, 1 + u % 5 "
    "from generate_series(1, 50) u",
    "insert into app.marketing_campaigns (id, name, channel, status) overriding system value "
    "select c, 'Campaign ' || c, (array['email', 'paid_search', 'paid_social', 'events'])"
    "[1 + c % 4], 'running' from generate_series(1, 20) c",
    "insert into app.pipelines (id, name, is_default) overriding system value "
    "values (1, 'Sales', true)",
    """insert into app.pipeline_stages (id, pipeline_id, name, position, probability,
                                        forecast_category, is_closed, is_won)
       overriding system value
       values (1, 1, 'Prospecting', 1, 10, 'pipeline', false, false),
              (2, 1, 'Qualification', 2, 30, 'pipeline', false, false),
              (3, 1, 'Proposal', 3, 60, 'best_case', false, false),
              (4, 1, 'Closed Won', 4, 100, 'closed', true, true),
              (5, 1, 'Closed Lost', 5, 0, 'omitted', true, false)""",
    "insert into app.accounts (id, name, domain, segment, owner_id) overriding system value "
    "select a, 'Account ' || a, 'a' || a || '.example', (array['smb', 'mid', 'enterprise'])"
    "[1 + a % 3], 1 + a % 50 from generate_series(1, greatest(:n / 20, 1)) a",
    "insert into ops.load_batches (batch_id, source, entity, status) "
    "values (cast(:batch as uuid), 'bench', 'touchpoints', 'loaded')",
]

#: People and their activity for contact ids in (:lo, :hi]; lead i/2 for an even contact i,
#: deal i/5 for every fifth. Dates spread over the two years up to :base. Touchpoints were
#: loaded, and interactions written, day by day over those years (:spread = 1) for the
#: first data, all at :loaded for the 1% appended (:spread = 0): an incremental run then
#: re-reads its lookback margin of hours, not a whole history loaded in one instant.
DATA_SQL = [
    """insert into app.contacts (id, account_id, first_name, email, email_normalized,
                                 owner_id, source, created_at, updated_at)
       overriding system value
       select i, 1 + i % greatest(:n / 20, 1), 'P' || i, 'p' || i || '@bench.example',
              'p' || i || '@bench.example', 1 + i % 50, 'bench', :loaded, :loaded
       from generate_series(:lo + 1, :hi) i""",
    """insert into app.leads (id, contact_id, account_id, status, disqualified_reason,
                              lead_source, campaign_id, owner_id, company, created_at,
                              qualified_at, converted_at, updated_at)
       overriding system value
       select i / 2, i, 1 + i % greatest(:n / 20, 1), s,
              case when s = 'disqualified' then 'no budget' end,
              (array['web', 'event', 'referral', 'partner'])[1 + i % 4], 1 + i % 20,
              1 + i % 50, 'Company ' || i % 9973, c,
              case when s in ('qualified', 'converted') then c + interval '10 days' end,
              case when s = 'converted' then c + interval '20 days' end, :loaded
       from (select i, :base - (i % 720) * interval '1 day' - interval '60 days' as c,
                    (array['new', 'working', 'nurturing', 'qualified', 'disqualified',
                           'converted'])[1 + (i / 2) % 6] as s
             from generate_series(:lo + 1, :hi) i where i % 2 = 0) x""",
    """insert into app.sales_pipeline (id, name, account_id, contact_id, lead_id, pipeline_id,
                                       stage_id, owner_id, campaign_id, amount, currency,
                                       forecast_category, closed_at, is_won, created_at,
                                       updated_at)
       overriding system value
       select i / 5, 'Deal ' || i / 5, 1 + i % greatest(:n / 20, 1), i,
              case when i % 2 = 0 and (i / 2) % 6 = 5 then i / 2 end, 1, st, 1 + i % 50,
              1 + i % 20, 1000 + (i::bigint * 7919) % 50000, 'USD',
              (array['pipeline', 'pipeline', 'best_case', 'closed', 'omitted'])[st],
              case when st >= 4 then c + interval '30 days' end,
              case when st >= 4 then st = 4 end, c, :loaded
       from (select i, 1 + (i / 5) % 5 as st,
                    :base - (i % 720) * interval '1 day' - interval '40 days' as c
             from generate_series(:lo + 1, :hi) i where i % 5 = 0) x""",
    """insert into app.deal_stage_history (deal_id, stage_id, stage_label, amount, entered_at,
                                           exited_at)
       select d.id, s, (array['Prospecting', 'Qualification', 'Proposal', 'Closed Won',
                              'Closed Lost'])[s], d.amount,
              d.created_at + (least(s, 4) - 1) * interval '10 days',
              case when s <> d.stage_id
                   then d.created_at + least(s, 4) * interval '10 days' end
       from app.sales_pipeline d, generate_series(1, d.stage_id) s
       where d.id > :lo / 5 and d.id <= :hi / 5 and (s <= 3 or s = d.stage_id)""",
    """insert into app.interactions (kind, direction, contact_id, account_id, user_id,
                                     occurred_at, subject, thread_id, source, source_key,
                                     created_at, updated_at)
       select (array['email', 'email', 'call', 'meeting'])[1 + i % 4],
              case when i % 4 = 0 then 'inbound' else 'outbound' end, i,
              1 + i % greatest(:n / 20, 1), 1 + i % 50,
              :base - (i % 720) * interval '1 day' + (i % 4) * interval '1 hour',
              'Re: offer', 'th' || i / 8, 'bench', 'i' || i,
              :loaded - (i % 720) * :spread * interval '1 day',
              :loaded - (i % 720) * :spread * interval '1 day'
       from generate_series(:lo + 1, :hi) i where i % 2 = 0""",
    """insert into raw.touchpoints__events (batch_id, source, source_key, content_hash,
                                            loaded_at, record)
       select cast(:batch as uuid), 'touchpoints', 'e' || i || '-' || k, md5(i || '-' || k),
              :loaded - (i % 720) * :spread * interval '1 day',
              jsonb_build_object(
                  'event_id', 'e' || i || '-' || k,
                  'event_type', (array['session', 'ad_click', 'email_open', 'email_click',
                                       'form_fill'])[1 + (i + k) % 5],
                  'occurred_at', :base - (i % 720) * interval '1 day'
                                 - (60 + 3 * k) * interval '1 day',
                  'anonymous_id', 'a' || i,
                  'email', case when k = 1 then 'p' || i || '@bench.example' end,
                  'channel', (array['email', 'paid_search', 'organic_search', 'paid_social',
                                    'direct'])[1 + (i + k) % 5],
                  'campaign', case when i % 7 <> 0 then 'Campaign ' || 1 + i % 20 end,
                  'cost', (i % 5)::text)
       from generate_series(:lo + 1, :hi) i, generate_series(1, 2) k""",
]

#: What the dashboards ask of the marts (filters on date, owner and campaign). Owner 6 owns
#: deals (the generated deals' owners are 1, 6, 11, ...), leads and interactions.
DASHBOARD_QUERIES = {
    "pipeline by stage, one owner": """
        select stage_name, count(*), sum(amount_reporting) from marts.fct_deals
        where owner_id = 6 and not is_closed group by 1""",
    "won by month, last quarter": """
        select date_trunc('month', closed_date), sum(amount_reporting) from marts.fct_deals
        where is_won and closed_date >= :day - 90 group by 1""",
    "leads of a campaign, last 30 days": """
        select status, count(*) from marts.fct_leads
        where campaign_id = 3 and created_at >= :day - 30 group by 1""",
    "leads by source, last 30 days": """
        select lead_source, count(*), avg(score) from marts.fct_leads
        where created_at >= :day - 30 group by 1""",
    "touchpoints by channel, last 7 days": """
        select channel, count(*), sum(cost) from marts.fct_touchpoints
        where occurred_date >= :day - 7 group by 1""",
    "touchpoints of a campaign": """
        select occurred_date, count(*) from marts.fct_touchpoints
        where campaign_id = 5 group by 1 order by 1 desc limit 30""",
    "attribution by channel, one quarter": """
        select model, channel, sum(conversions), sum(revenue) from marts.attribution_by_channel
        where period >= :day - 90 group by 1, 2""",
    "interactions of a rep, last 30 days": """
        select kind, direction, count(*), avg(response_time_hours) from marts.fct_interactions
        where user_id = 6 and occurred_date >= :day - 30 group by 1, 2""",
}

#: The pipeline page's reads of the pipeline as it stood (`dashboards.pipeline_history`,
#: the SQL the page runs), over the page's default range (the last year up to today), for
#: every owner and for one rep: (query, owners).
PIPELINE_PAGE_QUERIES = {
    "pipeline page: open pipeline by day and stage": (BY_DAY_SQL, None),
    "pipeline page: open pipeline by day and stage, one rep": (BY_DAY_SQL, [6]),
    "pipeline page: walk between the range's ends": (WALK_SQL, None),
    "pipeline page: walk between the range's ends, one rep": (WALK_SQL, [6]),
}


def execute(url: str, statements: list[str], params: dict) -> None:
    engine = get_engine(url)
    for i, sql in enumerate(statements, 1):
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
        print(f"  [{i}/{len(statements)}] {' '.join(sql.split()[:3])[:50]} "
              f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    with engine.begin() as conn:
        conn.execute(sa.text("analyze"))


def build(url: str, args: list[str], target: Path, label: str) -> tuple[float, dict[str, float]]:
    """One dbt build, timed; every model's time and the 15 slowest tests to stderr. Returns the
    wall time and the node time by kind (model, seed, test, unit_test).
    The project is parsed first with the build's vars, untimed: a job that runs again with
    the same vars keeps dbt's partial parse (a change of vars re-parses the whole project,
    about 30 s here), so both runs are timed as their job's steady state."""
    vars_at = args.index("--vars")
    start = time.perf_counter()
    run_dbt(["parse", *args[vars_at:vars_at + 2]], url, target_path=target, quiet=True)
    print(f"dbt parse ({label}, untimed): {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print(f"dbt {' '.join(args[:3])} ({label})", file=sys.stderr)
    start = time.perf_counter()
    run_dbt(args, url, target_path=target, quiet=True)
    elapsed = time.perf_counter() - start
    results = json.loads((target / "run_results.json").read_text())["results"]
    by_kind: dict[str, float] = {}
    for r in results:
        kind = r["unique_id"].split(".")[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + r["execution_time"]
    print(f"  {elapsed:.1f} s in all; node time by kind: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(by_kind.items())), file=sys.stderr)
    models = [r for r in results if r["unique_id"].split(".")[0] in MODEL_KINDS]
    tests = [r for r in results if r not in models]
    print("  models and seeds, slowest first:", file=sys.stderr)
    for r in sorted(models, key=lambda r: -r["execution_time"]):
        print(f"    {r['execution_time']:7.2f} s  {r['unique_id'].split('.')[-1]}",
              file=sys.stderr)
    print(f"  tests ({len(tests)}), slowest 15:", file=sys.stderr)
    for r in sorted(tests, key=lambda r: -r["execution_time"])[:15]:
        # test.<project>.<name>[.<hash>]: a singular test has no hash
        print(f"    {r['execution_time']:7.2f} s  {r['unique_id'].split('.')[2]}",
              file=sys.stderr)
    return elapsed, by_kind


def time_queries(url: str, day: date) -> dict[str, float]:
    """Best of three, ms, per dashboard query."""
    queries = {name: (sql, {"day": day}) for name, sql in DASHBOARD_QUERIES.items()}
    queries |= {name: (sql, {"start": day - timedelta(days=365), "end": day, "owners": owners})
                for name, (sql, owners) in PIPELINE_PAGE_QUERIES.items()}
    engine = get_engine(url)
    times = {}
    with engine.connect() as conn:
        for name, (sql, params) in queries.items():
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                conn.execute(sa.text(sql), params).fetchall()
                runs.append((time.perf_counter() - start) * 1000)
            times[name] = min(runs)
            print(f"  {min(runs):8.1f} ms  {name}", file=sys.stderr)
    return times


MODEL_KINDS = ("model", "seed")
TEST_KINDS = ("test", "unit_test")


def _node_time(by_kind: dict[str, float], kinds: tuple[str, ...]) -> float:
    return sum(by_kind.get(kind, 0.0) for kind in kinds)


def slowest_query(url: str, day: date) -> dict:
    print("dashboard queries on the marts, best of 3", file=sys.stderr)
    queries = time_queries(url, day)
    get_engine(url).dispose()
    slowest = max(queries, key=queries.get)
    return {"slowest_dashboard_query": slowest,
            "slowest_dashboard_query_ms": round(queries[slowest], 1)}


def run(url: str, scale: int, snapshot_days: int, incremental_run: bool = True) -> dict:
    now = datetime.now(UTC).replace(microsecond=0)
    snapshot_vars = {"pipeline_snapshot_start": str((now - timedelta(days=snapshot_days)).date())}
    params = {"n": scale, "batch": str(uuid.uuid4()), "base": now - timedelta(days=2)}
    added = max(scale // 100, 10)
    print(f"generating {scale:,} contacts, {2 * scale:,} touchpoints, {scale // 5:,} deals",
          file=sys.stderr)
    execute(url, REFERENCE_SQL + DATA_SQL,
            {**params, "lo": 0, "hi": scale, "loaded": now - timedelta(days=1), "spread": 1})
    with tempfile.TemporaryDirectory(prefix="bench-dbt-target-") as target:
        full, full_nodes = build(url, full_build_args(snapshot_vars), Path(target), "baseline")
        if not incremental_run:
            return {"bench": "dbt_build", "scale": scale, "value": round(full, 1),
                    "unit": "s, dbt build --full-refresh (no incremental run)",
                    "peak_rss_mb": peak_rss_mb(), **slowest_query(url, now.date())}
        print(f"appending {added:,} contacts (1%) and their activity", file=sys.stderr)
        execute(url, DATA_SQL, {**params, "lo": scale, "hi": scale + added,
                                "loaded": datetime.now(UTC), "spread": 0})
        incremental, incremental_nodes = build(
            url, incremental_build_args(snapshot_vars), Path(target), "incremental")
    return {"bench": "dbt_build", "scale": scale, "value": round(incremental, 1),
            "unit": "s, incremental dbt run after 1% new data (selector incremental)",
            "baseline": "dbt build --full-refresh", "baseline_value": round(full, 1),
            "ratio": round(incremental / full, 3),
            "peak_rss_mb": peak_rss_mb(),
            # node time (seconds a node ran, summed over dbt's threads): models and seeds
            # apart from the data and unit tests, incremental / full
            "models_ratio": round(_node_time(incremental_nodes, MODEL_KINDS)
                                  / _node_time(full_nodes, MODEL_KINDS), 3),
            "tests_ratio": round(_node_time(incremental_nodes, TEST_KINDS)
                                 / _node_time(full_nodes, TEST_KINDS), 3),
            **slowest_query(url, now.date())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dbt_build",
                                     description="Full dbt build against an incremental one.")
    parser.add_argument("--scale", type=int, default=50_000, help="contacts")
    parser.add_argument("--snapshot-days", type=int, default=90,
                        help="days of the daily pipeline snapshot")
    parser.add_argument("--skip-incremental", action="store_true",
                        help="stop after the full build and the dashboard queries")
    parser.add_argument("--keep-database", action="store_true",
                        help="keep the database afterwards (with DATABASE_URL set)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp, \
            scratch_database(Path(tmp), "bench_dbt", keep=args.keep_database) as url:
        result = run(url, args.scale, args.snapshot_days, not args.skip_incremental)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
