"""Funnel and velocity: lead -> MQL -> SQL -> opportunity -> won by monthly cohort, the
time between stages, how long deals sit in each stage, and sales velocity by rep and team.

Columns this page expects (align them here after the warehouse marts are merged):

- `marts.fct_lead_funnel`, one row per lead: lead_id, owner_id, created_at, mql_at, sql_at,
  opportunity_at, won_at (timestamps; null until the lead reached that stage).
- `marts.fct_deal_stage_history`, one row per deal per stage visit: deal_id, owner_id,
  stage_name, stage_position, entered_at, exited_at (null while the deal is in it).
- `marts.fct_deals` (built): velocity from owner_id, owner_name, owner_team_id, amount,
  is_closed, is_won, created_date, closed_date.
"""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import date_range, owner_clause, owners
from dashboards.flows import FUNNEL_STAGES, conversion, velocity

DAYS = "extract(epoch from {later} - {earlier}) / 86400"
FUNNEL_SQL = """
    select date_trunc('month', created_at)::date as cohort,
           count(*) as leads, count(mql_at) as mqls, count(sql_at) as sqls,
           count(opportunity_at) as opportunities, count(won_at) as won,
           percentile_cont(0.5) within group (order by {lead_mql}) as lead_to_mql_days,
           percentile_cont(0.5) within group (order by {mql_sql}) as mql_to_sql_days,
           percentile_cont(0.5) within group (order by {sql_opp}) as sql_to_opportunity_days,
           percentile_cont(0.5) within group (order by {opp_won}) as opportunity_to_won_days
    from marts.fct_lead_funnel
    where created_at::date between :start and :end and {owners}
    group by 1 order by 1""".format(
    lead_mql=DAYS.format(later="mql_at", earlier="created_at"),
    mql_sql=DAYS.format(later="sql_at", earlier="mql_at"),
    sql_opp=DAYS.format(later="opportunity_at", earlier="sql_at"),
    opp_won=DAYS.format(later="won_at", earlier="opportunity_at"),
    owners=owner_clause("owner_id"))

STAGE_DURATIONS_SQL = """
    select stage_position, stage_name, count(*) as visits,
           avg({days})::float8 as avg_days,
           percentile_cont(0.5) within group (order by {days}) as median_days,
           count(*) filter (where exited_at is null) as deals_in_stage_now
    from marts.fct_deal_stage_history
    where entered_at::date between :start and :end and {owners}
    group by 1, 2 order by 1""".format(
    days=DAYS.format(later="coalesce(exited_at, now())", earlier="entered_at"),
    owners=owner_clause("owner_id"))

#: Per rep and per team (grouping sets: the team's own row has rep null).
VELOCITY_SQL = """
    select coalesce(t.name, 'Team ' || d.owner_team_id, '(no team)') as team,
           d.owner_name as rep,
           count(*) filter (where d.created_date between :start and :end) as opportunities,
           count(*) filter (where d.is_won and d.closed_date between :start and :end) as won,
           count(*) filter (where d.is_closed and d.closed_date between :start and :end)
               as closed,
           avg(d.amount) filter (where d.is_won and d.closed_date between :start and :end
               )::float8 as avg_won_amount,
           avg(d.closed_date - d.created_date) filter (
               where d.is_won and d.closed_date between :start and :end)::float8 as cycle_days
    from marts.fct_deals d left join app.teams t on t.id = d.owner_team_id
    where d.owner_name is not null and """ + owner_clause("d.owner_id") + """
    group by grouping sets ((1, 2), (1)) order by 1, 2 nulls first"""

st.title("Funnel and velocity")

start, end = date_range()
params = {"start": start, "end": end, "owners": owners()}

st.subheader("Lead funnel by cohort")
cohorts = query(FUNNEL_SQL, params)
if ready(cohorts, "leads", "No leads were created in this period for these filters.",
         missing="The funnel mart (marts.fct_lead_funnel) has not been built yet: run the "
         "dbt assets in Dagster."):
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
           "to win: the dollars a day the pipeline turns into bookings.")
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
