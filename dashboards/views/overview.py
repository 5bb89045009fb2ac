"""Overview: the period's headline numbers, each against the period of equal length before."""

import pandas as pd
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import date_range, owner_clause, owners
from dashboards.periods import Measure, compare, count, days, money, percent, previous_period
from dashboards.targets import target_between

#: Both periods in one query; open pipeline is what was open at the end of each period
#: (created by then, not yet closed), rebuilt from the deals' created and closed dates.
PERIODS = """
    with periods (period, p_start, p_end) as (
        values ('current', cast(:start as date), cast(:end as date)),
               ('previous', cast(:prev_start as date), cast(:prev_end as date)))"""

DEALS_SQL = PERIODS + """
    select p.period,
           coalesce(sum(d.amount_reporting) filter (
               where d.is_won and d.closed_date between p.p_start and p.p_end), 0)::float8
               as bookings,
           count(*) filter (
               where d.is_won and d.closed_date between p.p_start and p.p_end) as won_deals,
           count(*) filter (
               where d.is_closed and d.closed_date between p.p_start and p.p_end)
               as closed_deals,
           coalesce(sum(d.amount_reporting) filter (
               where d.created_date <= p.p_end
                 and (not d.is_closed or d.closed_date > p.p_end)), 0)::float8 as open_pipeline,
           avg(d.closed_date - d.created_date) filter (
               where d.is_won and d.closed_date between p.p_start and p.p_end)::float8 as cycle_days
    from periods p cross join marts.fct_deals d
    where """ + owner_clause("d.owner_id") + """
    group by p.period"""

#: The leads of both periods, from their daily sums.
LEADS_SQL = PERIODS + """
    select p.period, coalesce(sum(l.leads), 0)::bigint as leads
    from periods p
    left join marts.fct_leads_daily l
      on l.created_date between p.p_start and p.p_end and """ + owner_clause("l.owner_id") + """
    group by p.period"""

#: The bookings target of both periods, prorated over their days.
TARGETS_SQL = PERIODS + """
    select period, """ + target_between("p_start", "p_end") + """ as target from periods"""

st.title("Overview")

start, end = date_range("Period")
prev_start, prev_end = previous_period(start, end)
st.caption(f"{start} to {end}, against {prev_start} to {prev_end}.")

params = {"start": start, "end": end, "prev_start": prev_start, "prev_end": prev_end,
          "owners": owners()}
deals = query(DEALS_SQL, params)
leads = query(LEADS_SQL, params)
targets = query(TARGETS_SQL, params)

MEASURES = [
    Measure("Bookings (won)", "bookings", money),
    Measure("Bookings target", "target", money),
    Measure("Bookings against target", "attainment", percent, points=True),
    Measure("Open pipeline at period end", "open_pipeline", money),
    Measure("Win rate", "win_rate", percent, points=True),
    Measure("Average cycle (won deals)", "cycle_days", days, lower_is_better=True),
    Measure("New leads", "leads", count),
]

values = pd.DataFrame(index=pd.Index(["current", "previous"], name="period"))
if ready(deals, "deals", "No deals yet for these filters."):
    deals = deals.set_index("period").reindex(values.index)
    deals["win_rate"] = deals.won_deals / deals.closed_deals.where(deals.closed_deals > 0)
    values = values.join(deals[["bookings", "open_pipeline", "win_rate", "cycle_days"]])
if ready(leads, "leads"):
    values = values.join(leads.set_index("period")[["leads"]])
if "target" in targets and targets.target.notna().any():
    values = values.join(targets.set_index("period")[["target"]])
    if "bookings" in values:
        values["attainment"] = values.bookings / values.target.where(values.target > 0)
elif "bookings" in values:
    st.caption("No bookings target covers these periods yet: managers set them through the "
               "API (`PUT /api/v1/targets`).")

summary = compare(values, MEASURES)
if not summary.empty:
    st.subheader("This period against the previous one")
    st.dataframe(summary, hide_index=True, width="stretch")
    download(summary, "overview")
