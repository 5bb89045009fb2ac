"""Funnel and velocity: lead -> MQL -> SQL -> opportunity -> won by monthly cohort, the
time between stages, how long deals sit in each stage, and sales velocity by rep and team.

Columns this page reads:

- `marts.fct_leads_daily`, leads per day of creation and owner: leads, mqls, sqls,
  opportunities, won, and per step the days between stages summed (`<step>_days_sum`)
  with how many leads took it (`<step>_count`). Not `marts.fct_lead_funnel`, which has no
  owner (the team and rep filters) and whole months only (the date range).
- `marts.fct_deal_stage_history`, one row per deal per stage visit: deal_id,
  current_stage_name, stage_position, is_closed_stage, is_current, entered_at,
  duration_days; its deal's owner from `marts.fct_deals`.
- `marts.sales_velocity`, per month and per rep (`dimension` 'rep', `dimension_key` the
  owner id) and team ('team', the team id): opportunities_created, deals_closed,
  deals_won, won_amount, avg_cycle_days; a rep's team from `marts.dim_users`.
"""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import date_range, owner_clause, owners
from dashboards.flows import FUNNEL_STAGES, conversion, velocity

#: The funnel per monthly cohort from the leads' daily sums, with the average days of each
#: step over the leads that took it.
STEPS = ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_won")
FUNNEL_SQL = """
    select date_trunc('month', created_date)::date as cohort,
           sum(leads)::bigint as leads, sum(mqls)::bigint as mqls, sum(sqls)::bigint as sqls,
           sum(opportunities)::bigint as opportunities, sum(won)::bigint as won, """ + ",\n".join(
    f"sum({step}_days_sum) / nullif(sum({step}_count), 0) as {step}_days" for step in STEPS) + """
    from marts.fct_leads_daily
    where created_date between :start and :end and """ + owner_clause("owner_id") + """
    group by 1 order by 1"""

#: The open stages deals entered in the range (the closed stage a deal ends in has no
#: duration). The deals are looked up only when a team or rep filter is set.
STAGE_DURATIONS_SQL = """
    select h.stage_position, h.current_stage_name as stage_name, count(*) as visits,
           avg(h.duration_days)::float8 as avg_days,
           percentile_cont(0.5) within group (order by h.duration_days) as median_days,
           count(*) filter (where h.is_current) as deals_in_stage_now
    from marts.fct_deal_stage_history h
    where not h.is_closed_stage and h.entered_at >= cast(:start as date)
      and h.entered_at < cast(:end as date) + 1
      and (cast(:owners as bigint[]) is null or h.deal_id in (
          select d.deal_id from marts.fct_deals d
          where d.owner_id = any(cast(:owners as bigint[]))))
    group by 1, 2 order by 1"""

#: The months of marts.sales_velocity in the range, added up per rep (with the team in
#: marts.dim_users) and per team (rep null); the team and rep filters keep the reps in
#: view and their teams.
VELOCITY_SQL = """
    with months as (
        select * from marts.sales_velocity
        where period between date_trunc('month', cast(:start as date)) and :end
          and dimension in ('rep', 'team')),
    picked as (
        select coalesce(u.team_name, '(no team)') as team, m.dimension_label as rep, m.*
        from months m left join marts.dim_users u on u.user_id::text = m.dimension_key
        where m.dimension = 'rep' and (cast(:owners as bigint[]) is null
               or m.dimension_key = any(cast(cast(:owners as bigint[]) as text[])))
        union all
        select m.dimension_label, null, m.* from months m
        where m.dimension = 'team' and (cast(:owners as bigint[]) is null
               or m.dimension_key in (select team_id::text from marts.dim_users
                                      where user_id = any(cast(:owners as bigint[])))))
    select team, rep, sum(opportunities_created) as opportunities, sum(deals_won) as won,
           sum(deals_closed) as closed,
           (sum(won_amount) / nullif(sum(deals_won), 0))::float8 as avg_won_amount,
           (sum(avg_cycle_days * deals_won) / nullif(sum(deals_won), 0))::float8 as cycle_days
    from picked group by 1, 2 order by 1, 2 nulls first"""

st.title("Funnel and velocity")

start, end = date_range()
params = {"start": start, "end": end, "owners": owners()}

st.subheader("Lead funnel by cohort")
cohorts = query(FUNNEL_SQL, params)
if ready(cohorts, "leads", "No leads were created in this period for these filters.",
         missing="The leads mart (marts.fct_leads_daily) has not been built yet: run the dbt "
         "assets in Dagster."):
    totals = cohorts[[c for c, _ in FUNNEL_STAGES]].sum()
    st.plotly_chart(px.funnel(x=totals.to_numpy(), y=[label for _, label in FUNNEL_STAGES],
                              labels={"x": "leads", "y": "stage"}), width="stretch")
    table = conversion(cohorts)
    st.dataframe(table, hide_index=True, width="stretch")
    download(table, "funnel_by_cohort")

st.subheader("Time in each deal stage")
durations = query(STAGE_DURATIONS_SQL, params)
if ready(durations, "stage changes", "No deal entered a stage in this period.",
         missing="The stage history mart (marts.fct_deal_stage_history) has not been built "
         "yet: run the dbt assets in Dagster."):
    st.plotly_chart(px.bar(durations, x="stage_name", y=["median_days", "avg_days"],
                           barmode="group", labels={"stage_name": "stage", "value": "days"}),
                    width="stretch")
    st.dataframe(durations, hide_index=True, width="stretch")
    download(durations, "stage_durations")

st.subheader("Sales velocity by rep and team")
st.caption("Velocity = opportunities created x win rate x average won deal / average days "
           "to win: the dollars a day the pipeline turns into bookings. Counted by whole "
           "months (marts.sales_velocity), from the month the range starts in.")
reps = query(VELOCITY_SQL, params)
if ready(reps, "deals", "No deals for these filters."):
    table = velocity(reps)
    teams = table[table.rep.isna()].drop(columns="rep")
    st.plotly_chart(px.bar(table.dropna(subset=["rep"]), x="rep", y="velocity_per_day",
                           color="team", labels={"velocity_per_day": "$ a day"}),
                    width="stretch")
    st.dataframe(table.dropna(subset=["rep"]), hide_index=True, width="stretch")
    download(table.dropna(subset=["rep"]), "velocity_by_rep")
    st.dataframe(teams, hide_index=True, width="stretch")
    download(teams, "velocity_by_team")
