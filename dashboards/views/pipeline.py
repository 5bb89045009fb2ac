"""Pipeline: open pipeline by stage and forecast category, and won/lost over time."""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import date_range, owner_clause, owners

DEALS_SQL = """
    select deal_id, deal_name, owner_name, stage_name, stage_position, forecast_category,
           amount::float8 as amount, weighted_amount::float8 as weighted_amount, probability,
           is_closed, is_won, created_date, closed_date, age_days, days_in_current_stage,
           lead_source
    from marts.fct_deals
    where created_date between :start and :end
      and """ + owner_clause("owner_id")

st.title("Pipeline")

start, end = date_range()
deals = query(DEALS_SQL, {"start": start, "end": end, "owners": owners()})

if ready(deals, "deals", "No deals were created in this period for these filters."):
    open_deals = deals[~deals.is_closed]
    closed = deals[deals.is_closed]
    won = closed[closed.is_won.fillna(False)]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Open pipeline", f"${open_deals.amount.sum():,.0f}")
    c2.metric("Weighted pipeline", f"${open_deals.weighted_amount.sum():,.0f}")
    c3.metric("Won", f"${won.amount.sum():,.0f}", f"{len(won)} deals", delta_color="off")
    c4.metric("Win rate", f"{len(won) / len(closed):.0%}" if len(closed) else "n/a")

    by_stage = (open_deals.groupby(["stage_position", "stage_name", "forecast_category"],
                                   as_index=False)
                .agg(amount=("amount", "sum"), deals=("deal_id", "count"))
                .sort_values("stage_position"))
    st.subheader("Open pipeline by stage")
    st.plotly_chart(px.bar(by_stage, x="stage_name", y="amount", color="forecast_category",
                           hover_data=["deals"], labels={"stage_name": "stage",
                                                         "amount": "amount ($)"}),
                    width="stretch")

    if not closed.empty:
        monthly = (closed.assign(month=closed.closed_date.astype("datetime64[ns]")
                                 .dt.to_period("M").dt.to_timestamp(),
                                 outcome=closed.is_won.map({True: "won", False: "lost"}))
                   .groupby(["month", "outcome"], as_index=False).amount.sum())
        st.subheader("Closed deals by month")
        st.plotly_chart(px.bar(monthly, x="month", y="amount", color="outcome",
                               barmode="group"), width="stretch")

    st.subheader("Deals")
    st.dataframe(deals, hide_index=True, width="stretch")
    download(deals, "deals")
