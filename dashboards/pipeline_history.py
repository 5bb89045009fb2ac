"""The pipeline page's reads of the pipeline as it stood on past days (its SQL lives here,
apart from the page script, so `bench.dbt_build` times the very queries the page runs).

Amounts are in the reporting currency (`amount_reporting`). The trend and the pipeline on
a date read `marts.fct_pipeline_daily` (open deals added up per day, owner, stage and
forecast category: a few rows per owner and day); the walk between two dates compares
deals, so it reads the two days of `marts.fct_pipeline_daily_snapshot`, in day order on
disk, through its index on (snapshot_date, deal_id) that holds owner_id and
amount_reporting (an index-only scan per day, merged on deal_id).
"""

from __future__ import annotations

from dashboards.filters import owner_clause

#: The open pipeline of every day in the range, by stage and forecast category.
BY_DAY_SQL = """
    select snapshot_date, stage_position, stage_name, forecast_category,
           sum(deals)::bigint as deals, coalesce(sum(amount_reporting), 0)::float8 as amount,
           coalesce(sum(weighted_amount_reporting), 0)::float8 as weighted_amount
    from marts.fct_pipeline_daily
    where snapshot_date between :start and :end and """ + owner_clause("owner_id") + """
    group by 1, 2, 3, 4
    order by 1, 2, 3, 4"""

#: The walk of open pipeline from the snapshot on (or last before; else the first after)
#: the range's start to the one on (or last before) its end, added up in SQL: the deals
#: open on both days by how their amount changed, the new ones, and the ones that left, won
#: or lost by `marts.fct_deals` when they closed in between, else removed. Each end is a
#: scalar day, so each is one range of the (snapshot_date, deal_id) index, read in deal
#: order for a merge join; only the deals that left are looked up in `marts.fct_deals`.
WALK_SQL = """
    with ends as materialized (
        select coalesce((select max(snapshot_date) from marts.fct_pipeline_daily_snapshot
                         where snapshot_date <= :start),
                        (select min(snapshot_date) from marts.fct_pipeline_daily_snapshot
                         where snapshot_date between :start and :end)) as first_day,
               (select max(snapshot_date) from marts.fct_pipeline_daily_snapshot
                where snapshot_date <= :end) as last_day),
    walk as materialized (
        select b.deal_id as before_id, b.amount_reporting as before,
               a.amount_reporting as after
        from (select deal_id, amount_reporting from marts.fct_pipeline_daily_snapshot
              where snapshot_date = (select first_day from ends)
                and """ + owner_clause("owner_id") + """) b
        full join (select deal_id, amount_reporting from marts.fct_pipeline_daily_snapshot
                   where snapshot_date = (select last_day from ends)
                     and """ + owner_clause("owner_id") + """) a
          on a.deal_id = b.deal_id),
    gone as (
        select w.before, case when d.closed_date > e.first_day and d.closed_date <= e.last_day
                                   and d.is_closed
                              then case when d.is_won then 'won' else 'lost' end
                              else 'removed' end as left_as
        from walk w cross join ends e
        left join marts.fct_deals d on d.deal_id = w.before_id
        where w.after is null)
    select e.first_day, e.last_day, m.start, m.new, m.increased, m.decreased,
           -coalesce(g.won, 0)::float8 as won, -coalesce(g.lost, 0)::float8 as lost,
           -coalesce(g.removed, 0)::float8 as removed, m."end"
    from ends e,
         (select coalesce(sum(before), 0)::float8 as start,
                 coalesce(sum(after) filter (where before is null), 0)::float8 as new,
                 coalesce(sum(after - before) filter (where after > before), 0)::float8
                     as increased,
                 coalesce(sum(after - before) filter (where after < before), 0)::float8
                     as decreased,
                 coalesce(sum(after), 0)::float8 as "end"
          from walk) m,
         (select sum(before) filter (where left_as = 'won') as won,
                 sum(before) filter (where left_as = 'lost') as lost,
                 sum(before) filter (where left_as = 'removed') as removed
          from gone) g
    where e.first_day is not null"""
