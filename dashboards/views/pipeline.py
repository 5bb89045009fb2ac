"""Pipeline and forecast: open pipeline by stage and forecast category, won/lost over time,
the open pipeline as it stood day by day (and by stage on the range's last day),
the walk of open pipeline between the range's two ends, and the P10/P50/P90 bookings
forecast against target and against what was booked.

Columns this page reads:

- `marts.fct_deals`: deal_id, deal_name, owner_id, owner_name, stage_name, stage_position,
  forecast_category, amount, currency, amount_reporting, weighted_amount_reporting,
  probability, is_closed, is_won, created_date, closed_date, age_days,
  days_in_current_stage, lead_source. Money is added up in the reporting currency.
- `marts.fct_pipeline_daily`, the open deals of each day added up by owner, stage and
  forecast category: snapshot_date, owner_id, stage_position, stage_name,
  forecast_category, deals, amount_reporting, weighted_amount_reporting.
- `marts.fct_pipeline_daily_snapshot`, one row per OPEN deal per day: snapshot_date,
  deal_id, owner_id, amount_reporting. The deals that closed between two snapshots are
  told won or lost by `marts.fct_deals`.
  (The SQL of these two reads lives in `dashboards.pipeline_history`.)
- `ml.forecasts`: the company-wide bookings of a period are the rows of level 'total' with
  no forecast_category (the others split it by category, team or rep): as_of,
  period_start, period_grain ('month' or 'quarter'), p10, p50, p90.
- `marts.sales_targets`: each forecast period's target, prorated and levelled as
  `dashboards.targets` says.
"""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import date_range, owner_clause, owners
from dashboards.flows import waterfall
from dashboards.pipeline_history import BY_DAY_SQL, WALK_SQL
from dashboards.targets import PERIOD_TARGETS_SQL

#: The deals created in the range, for the filters.
IN_RANGE = """
    from marts.fct_deals
    where created_date between :start and :end and """ + owner_clause("owner_id")

#: The deals in the filters added up by stage, category, outcome and month closed: the
#: headline numbers, the open pipeline by stage and the closed deals by month are all sums
#: of these few rows, so the deals are scanned once.
GROUPED_SQL = """
    select stage_position, stage_name, forecast_category, is_closed, is_won,
           date_trunc('month', closed_date)::date as month, count(*) as deals,
           sum(amount_reporting)::float8 as amount,
           sum(weighted_amount_reporting)::float8 as weighted_amount
    """ + IN_RANGE + """
    group by 1, 2, 3, 4, 5, 6"""

#: The deals themselves, largest first; at most DEALS_LISTED of them.
DEALS_LISTED = 200
DEALS_SQL = """
    select deal_id, deal_name, owner_name, stage_name, stage_position, forecast_category,
           amount::float8 as amount, currency, amount_reporting::float8 as amount_reporting,
           weighted_amount_reporting::float8 as weighted_amount_reporting, probability,
           is_closed, is_won, created_date, closed_date, age_days, days_in_current_stage,
           lead_source""" + IN_RANGE + """
    order by amount_reporting desc nulls last, deal_id limit """ + str(DEALS_LISTED)

#: The company-wide bookings forecast for each period in the range: the latest one, and
#: the last one made before the period began (the one to judge), with what was booked.
FORECAST_SQL = """
    with periods as (
        select distinct period_start, period_grain,
               period_start + case period_grain when 'quarter' then interval '3 months'
                                                else interval '1 month' end
               as period_end from ml.forecasts
        where level = 'total' and forecast_category is null
          and period_start between date_trunc('quarter', cast(:start as date)) and :end)
    select p.period_start, p.period_grain, (p.period_end - interval '1 day')::date as period_end,
           latest.as_of, latest.p10::float8 as p10,
           latest.p50::float8 as p50, latest.p90::float8 as p90,
           prior.as_of as prior_as_of, prior.p10::float8 as prior_p10,
           prior.p50::float8 as prior_p50, prior.p90::float8 as prior_p90,
           p.period_end <= current_date as is_past,
           (select coalesce(sum(d.amount_reporting), 0)::float8 from marts.fct_deals d
            where d.is_won and d.closed_date >= p.period_start
              and d.closed_date < p.period_end) as booked
    from periods p
    cross join lateral (
        select as_of, p10, p50, p90 from ml.forecasts f
        where f.level = 'total' and f.forecast_category is null
          and f.period_start = p.period_start and f.period_grain = p.period_grain
        order by as_of desc, id desc limit 1) latest
    left join lateral (
        select as_of, p10, p50, p90 from ml.forecasts f
        where f.level = 'total' and f.forecast_category is null
          and f.period_start = p.period_start and f.period_grain = p.period_grain
          and f.as_of <= p.period_start
        order by as_of desc, id desc limit 1) prior on true
    order by p.period_start"""

st.title("Pipeline")

start, end = date_range()
params = {"start": start, "end": end, "owners": owners()}
grouped = query(GROUPED_SQL, params)

if ready(grouped, "deals", "No deals were created in this period for these filters."):
    open_deals = grouped[grouped.is_closed.eq(False)]
    closed = grouped[grouped.is_closed.eq(True)]
    won = grouped[grouped.is_won.eq(True)]
    deal_count, won_deals, closed_deals = (int(f.deals.sum()) for f in (grouped, won, closed))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Open pipeline", f"${open_deals.amount.sum():,.0f}")
    c2.metric("Weighted pipeline", f"${open_deals.weighted_amount.sum():,.0f}")
    c3.metric("Won", f"${won.amount.sum():,.0f}", f"{won_deals} deals", delta_color="off")
    c4.metric("Win rate", f"{won_deals / closed_deals:.0%}" if closed_deals else "n/a")

    by_stage = (open_deals.groupby(["stage_position", "stage_name", "forecast_category"],
                                   as_index=False, dropna=False)[["amount", "deals"]].sum()
                .sort_values(["stage_position", "stage_name", "forecast_category"]))
    st.subheader("Open pipeline by stage")
    st.plotly_chart(px.bar(by_stage, x="stage_name", y="amount", color="forecast_category",
                           hover_data=["deals"], labels={"stage_name": "stage",
                                                         "amount": "amount ($)"}),
                    width="stretch")

    monthly = (closed.assign(outcome=closed.is_won.map({True: "won"}).fillna("lost"))
               .groupby(["month", "outcome"], as_index=False).amount.sum()
               .sort_values(["month", "outcome"]))
    if not monthly.empty:
        st.subheader("Closed deals by month")
        st.plotly_chart(px.bar(monthly, x="month", y="amount", color="outcome",
                               barmode="group"), width="stretch")

    st.subheader("Deals")
    deals = query(DEALS_SQL, params)
    if len(deals) == DEALS_LISTED:
        st.caption(f"The {DEALS_LISTED:,} largest of {deal_count:,} deals.")
    st.dataframe(deals, hide_index=True, width="stretch")
    download(deals, "deals")

st.subheader("Open pipeline as it stood")
by_day = query(BY_DAY_SQL, params)
if ready(by_day, "pipeline snapshots", "No pipeline snapshot in this period yet.",
         missing="The daily pipeline (marts.fct_pipeline_daily) has not been built yet: run "
         "the dbt assets in Dagster."):
    last_day = by_day.snapshot_date.max()
    on_last_day = by_day[by_day.snapshot_date.eq(last_day)]
    st.caption(f"At the end of each day, in the reporting currency; the last day: {last_day}.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Pipeline then", f"${on_last_day.amount.sum():,.0f}")
    c2.metric("Weighted then", f"${on_last_day.weighted_amount.sum():,.0f}")
    c3.metric("Open deals then", f"{int(on_last_day.deals.sum()):,}")
    trend = (by_day.groupby(["snapshot_date", "forecast_category"], as_index=False, dropna=False)
             .amount.sum())
    st.plotly_chart(px.area(trend, x="snapshot_date", y="amount", color="forecast_category",
                            labels={"snapshot_date": "day", "amount": "open pipeline ($)"}),
                    width="stretch")
    stages = (on_last_day.groupby(["stage_position", "stage_name", "forecast_category"],
                                  as_index=False, dropna=False)[["amount", "deals"]].sum()
              .sort_values(["stage_position", "stage_name", "forecast_category"]))
    st.plotly_chart(px.bar(stages, x="stage_name", y="amount", color="forecast_category",
                           hover_data=["deals"], title=f"By stage on {last_day}",
                           labels={"stage_name": "stage", "amount": "amount ($)"}),
                    width="stretch")
    download(by_day, "pipeline_by_day")

st.subheader("Pipeline change")
walk = query(WALK_SQL, params)
if ready(walk, "pipeline snapshots", "No pipeline snapshot on or before the range's "
         "end yet.", missing="The daily pipeline snapshot (marts.fct_pipeline_daily_snapshot) "
         "has not been built yet: run the dbt assets in Dagster."):
    first_day, last_day = walk.first_day[0], walk.last_day[0]
    st.caption(f"Open pipeline on {first_day} against {last_day}.")
    steps = waterfall(walk.iloc[0])
    st.plotly_chart(go.Figure(go.Waterfall(
        x=steps.step, y=steps.amount,
        measure=["absolute"] + ["relative"] * (len(steps) - 2) + ["total"])),
        width="stretch")
    st.dataframe(steps, hide_index=True, width="stretch")
    download(steps, "pipeline_change")

st.subheader("Bookings forecast")
forecasts = query(FORECAST_SQL, params)
if ready(forecasts, "forecast", "No forecast covers this period: the forecasting model has "
         "not run for it yet. Run it in the Dagster UI."):
    targets = query(PERIOD_TARGETS_SQL, {"owners": params["owners"],
                                         "starts": list(forecasts.period_start),
                                         "ends": list(forecasts.period_end)})
    if "target" in targets:
        forecasts = forecasts.merge(targets, on=["period_start", "period_end"],
                                    how="left")
    else:
        st.caption("No targets yet: marts.sales_targets has not been built.")
    figure = go.Figure([
        go.Scatter(x=forecasts.period_start, y=forecasts.p90, name="P90", mode="lines",
                   line={"width": 0}),
        go.Scatter(x=forecasts.period_start, y=forecasts.p10, name="P10 to P90",
                   mode="lines", fill="tonexty", line={"width": 0}),
        go.Scatter(x=forecasts.period_start, y=forecasts.p50, name="P50", mode="lines+markers"),
        go.Scatter(x=forecasts.period_start, y=forecasts.booked, name="booked",
                   mode="markers")])
    if "target" in forecasts:
        figure.add_trace(go.Scatter(x=forecasts.period_start, y=forecasts.target,
                                    name="target", mode="lines", line={"dash": "dash"}))
    st.plotly_chart(figure, width="stretch")
    st.dataframe(forecasts, hide_index=True, width="stretch")
    download(forecasts, "bookings_forecast")

    st.subheader("Accuracy of past forecasts")
    past = forecasts[forecasts.is_past & forecasts.prior_p50.notna()].copy()
    if past.empty:
        st.info("No finished period had a forecast made before it began.")
    else:
        past["error"] = (past.booked - past.prior_p50) / past.prior_p50.where(past.prior_p50 > 0)
        past["within_p10_p90"] = past.booked.between(past.prior_p10, past.prior_p90)
        c1, c2 = st.columns(2)
        c1.metric("Mean absolute error (P50)", f"{past.error.abs().mean():.0%}")
        c2.metric("Booked within P10 to P90", f"{past.within_p10_p90.mean():.0%}")
        accuracy = past[["period_start", "prior_as_of", "prior_p10", "prior_p50", "prior_p90",
                         "booked", "error", "within_p10_p90"]]
        st.dataframe(accuracy, hide_index=True, width="stretch")
        download(accuracy, "forecast_accuracy")
