"""Campaigns and attribution: conversions and won revenue credited to channels and
campaigns under one attribution model, against their media cost; and all models side by
side.

`marts.attribution_by_channel` holds one row per model x conversion_type x channel x
campaign x month: every number here is for one conversion type (`lead`: converted leads,
credited with the won revenue they brought; `deal_won`: won deals), since summing both
would count a lead's revenue twice. Media cost comes from `marts.fct_touchpoints_daily`; each
campaign's own results, cost and ROI (all time) from `marts.fct_campaign_performance`."""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import choice, date_range, frame_options, one

OPTIONS_SQL = """select distinct model, conversion_type, channel, campaign
                 from marts.attribution_by_channel"""
#: conversion_type -> what the selector shows
CONVERSION_TYPES = {"lead": "Converted leads", "deal_won": "Won deals"}

#: The channel and campaign filters, as SQL on `channel` and `campaign` columns.
PICKED = """
      and (cardinality(cast(:channels as text[])) = 0
           or channel = any(cast(:channels as text[])))
      and (cardinality(cast(:campaigns as text[])) = 0
           or campaign = any(cast(:campaigns as text[])))"""

#: Months whose start falls in the range, or that contain the range's first day, added up
#: per model, channel and campaign: every view below is a sum of these rows.
ATTRIBUTION_SQL = """
    select model, channel, coalesce(campaign, '(none)') as campaign,
           sum(conversions)::float8 as conversions, sum(revenue)::float8 as revenue,
           sum(credited_touchpoints)::bigint as credited_touchpoints
    from marts.attribution_by_channel
    where conversion_type = :conversion_type
      and period between date_trunc('month', cast(:start as date)) and :end""" + PICKED + """
    group by 1, 2, 3"""

#: Media cost of the touchpoints in the range, per channel and campaign (from the daily
#: sums, not the touchpoints themselves).
COSTS_SQL = """
    select channel, coalesce(campaign, '(none)') as campaign,
           sum(touchpoints)::bigint as touchpoints, coalesce(sum(cost), 0)::float8 as cost
    from marts.fct_touchpoints_daily
    where occurred_date between :start and :end""" + PICKED + """
    group by 1, 2"""

#: The campaigns live in the range (channel filter applied), with their all-time results.
PERFORMANCE_SQL = """
    select campaign_name, channel, status, start_date, end_date, leads, converted_leads,
           opportunities, won_deals, pipeline::float8 as pipeline, revenue::float8 as revenue,
           cost::float8 as cost, cost_source, roi::float8 as roi
    from marts.fct_campaign_performance
    where (start_date is null or start_date <= :end) and (end_date is null or end_date >= :start)
      and (cardinality(cast(:channels as text[])) = 0
           or channel = any(cast(:channels as text[])))
    order by revenue desc nulls last, campaign_name"""

SUMS = {"conversions": ("conversions", "sum"), "revenue": ("revenue", "sum"),
        "credited_touchpoints": ("credited_touchpoints", "sum")}

st.title("Campaigns and attribution")

start, end = date_range("Converted between")
options = query(OPTIONS_SQL)
conversion_type = one("Conversions", "conversion", frame_options(options, "conversion_type"),
                      default="lead", shown=lambda t: CONVERSION_TYPES.get(t, t))
models = frame_options(options, "model")
model = one("Attribution model", "model", models,
            default="linear" if "linear" in models else None)
params = {"start": start, "end": end, "conversion_type": conversion_type,
          "channels": choice("Channel", "channel", frame_options(options, "channel")),
          "campaigns": choice("Campaign", "campaign", frame_options(options, "campaign"))}
attribution = query(ATTRIBUTION_SQL, params)
costs = query(COSTS_SQL, params)

if ready(attribution, "attributed conversions"):
    chosen = attribution[attribution.model == model]
    what = CONVERSION_TYPES.get(conversion_type, conversion_type).lower()
    st.subheader(f"By channel: {what}, {model.replace('_', ' ')} attribution")
    if ready(chosen, f"conversions under the {model} model"):
        c1, c2 = st.columns(2)
        c1.metric("Conversions", f"{chosen.conversions.sum():,.1f}")
        c2.metric("Attributed revenue", f"${chosen.revenue.sum():,.0f}")
        by_channel = (chosen.groupby("channel", as_index=False).agg(**SUMS)
                      .sort_values("conversions", ascending=False))
        st.plotly_chart(px.bar(by_channel, x="channel", y="conversions",
                               hover_data=["revenue"]), width="stretch")
        st.dataframe(by_channel, hide_index=True, width="stretch")
        download(by_channel, f"attribution_by_channel_{model}")

        st.subheader("Attributed revenue against media cost, by campaign")
        by_campaign = chosen.groupby(["channel", "campaign"], as_index=False).agg(**SUMS)
        if "cost" in costs:
            st.caption("Media cost of the touchpoints in the range; ROI is attributed "
                       "revenue less cost, over cost.")
            by_campaign = (by_campaign.merge(costs, on=["channel", "campaign"], how="outer")
                           .fillna({"conversions": 0, "revenue": 0, "credited_touchpoints": 0,
                                    "touchpoints": 0, "cost": 0}))
            by_campaign["roi"] = ((by_campaign.revenue - by_campaign.cost)
                                  / by_campaign.cost.where(by_campaign.cost > 0))
            st.metric("Media cost", f"${by_campaign.cost.sum():,.0f}")
        else:
            st.caption(f"No media cost yet: the table {costs.relation} has not been built.")
        by_campaign = by_campaign.sort_values(["conversions", "revenue"], ascending=False)
        st.dataframe(by_campaign, hide_index=True, width="stretch")
        download(by_campaign, f"campaign_attribution_{model}")

    st.subheader(f"All models side by side: {what}")
    long = attribution.groupby(["channel", "model"], as_index=False).agg(**SUMS)
    st.plotly_chart(px.bar(long, x="channel", y="conversions", color="model",
                           barmode="group", hover_data=["revenue"]),
                    width="stretch")
    side_by_side = long.pivot(index="channel", columns="model",
                              values=["conversions", "revenue"])
    side_by_side.columns = [f"{m} {value}" for value, m in side_by_side.columns]
    side_by_side = side_by_side.reset_index()
    st.dataframe(side_by_side, hide_index=True, width="stretch")
    download(side_by_side, "attribution_models_side_by_side")

st.subheader("Campaign performance")
st.caption("Each campaign live in the range, with everything it brought so far: its leads, "
           "deals and won revenue, its cost (actual, else its media cost) and ROI.")
performance = query(PERFORMANCE_SQL, params)
if ready(performance, "campaigns", "No campaign was live in this period for these filters."):
    st.dataframe(performance, hide_index=True, width="stretch")
    download(performance, "campaign_performance")
