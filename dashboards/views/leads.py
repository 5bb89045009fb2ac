"""Leads: the open leads by priority with their score and why, and how good the scores are.

Scores come from `marts.fct_leads` (score, score_band, score_probability: each lead's latest
score as of the last dbt run). Counts and charts read them added up per day in
`marts.fct_lead_scores_daily`; the list reads `marts.fct_leads` in priority order, and only
the listed leads look up their reasons in `ml.lead_scores` and their next best action in
`ml.next_best_actions`. Only open leads are scored, so a
closed lead's score is the one it had before it closed: the calibration's input."""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import choice, date_range, frame_options, owners
from dashboards.lead_queue import FIRST_PAGE, PICKED, QUEUE_SQL, after
from dashboards.scores import calibration, probability_bin, reasons_text

BANDS = ["A", "B", "C", "D"]
#: Open leads listed a page at a time.
QUEUE_PAGE = 200

#: The source and segment options, from the few rows of the lead segments mart.
OPTIONS_SQL = "select lead_source, industry from marts.dim_lead_segments"

#: The leads counted by score, band, outcome and probability bin: the headline numbers, the
#: distribution and the calibration all come from these few hundred rows, added up from the
#: daily mart.
SUMMARY_SQL = """
    select score, score_band as band, is_closed, is_converted,
           """ + probability_bin("probability_percent / 100.0") + """ as probability_bin,
           sum(leads)::bigint as leads, sum(probability_sum)::float8 as probability_sum
    from marts.fct_lead_scores_daily
    where created_date between :start and :end""" + PICKED + """
    group by 1, 2, 3, 4, 5"""

st.title("Leads")

start, end = date_range()
options = query(OPTIONS_SQL)
params = {"start": start, "end": end, "owners": owners(),
          "sources": choice("Lead source", "source", frame_options(options, "lead_source")),
          "industries": choice("Segment (industry)", "segment",
                               frame_options(options, "industry"))}
bands = choice("Score band", "band", BANDS)
NOT_SCORED = ("No lead has a score yet: the lead-scoring model has not run. Run it in the "
              "Dagster UI.")

summary = query(SUMMARY_SQL, params)
if ready(summary, "leads"):
    open_leads = summary[~summary.is_closed.astype(bool)]
    c1, c2, c3 = st.columns(3)
    c1.metric("Open leads", f"{open_leads.leads.sum():,}")
    c2.metric("Open leads in band A", f"{open_leads.leads[open_leads.band == 'A'].sum():,}")
    c3.metric("Leads with a score", f"{summary.leads[summary.score.notna()].sum():,}")

    st.subheader("Open leads by priority")
    # The pages seen so far (their keysets), from the first; new filters start over.
    listing = repr((params, bands))
    if st.session_state.get("_queue_listing") != listing:
        st.session_state["_queue_listing"], st.session_state["_queue_pages"] = listing, []
    pages = st.session_state["_queue_pages"]
    queue = query(QUEUE_SQL, {**params, "bands": bands, "limit": QUEUE_PAGE + 1,
                              **(pages[-1] if pages else FIRST_PAGE)})
    if ready(queue, "open leads"):
        more, queue = len(queue) > QUEUE_PAGE, queue.head(QUEUE_PAGE)
        if queue.score.isna().all():
            st.info(NOT_SCORED)
        first = len(pages) * QUEUE_PAGE + 1
        st.caption(f"Leads {first:,} to {first + len(queue) - 1:,}, highest score first.")
        queue.insert(4, "top_reasons", queue.pop("reasons").map(reasons_text))
        st.dataframe(queue, hide_index=True, width="stretch")
        download(queue, "open_leads")
        back, forward = st.columns(2)
        if pages and back.button("Previous leads"):
            pages.pop()
            st.rerun()
        if more and forward.button(f"Next {QUEUE_PAGE} leads"):
            pages.append(after(queue.iloc[-1]))
            st.rerun()

    st.subheader("Score distribution")
    scored = summary[summary.score.notna()]
    if ready(scored, "scored leads", NOT_SCORED):
        distribution = scored.groupby(["score", "band"], as_index=False).leads.sum()
        st.plotly_chart(px.histogram(distribution, x="score", y="leads", histfunc="sum",
                                     color="band", nbins=20, category_orders={"band": BANDS},
                                     labels={"score": "score (0-100)"})
                        .update_layout(yaxis_title="leads"),  # not plotly's "sum of leads"
                        width="stretch")

    st.subheader("Predicted against actual conversion")
    st.caption("Closed leads that had a score, grouped by predicted probability: a "
               "well-calibrated model sits on the diagonal.")
    closed = summary[summary.is_closed.astype(bool) & summary.probability_bin.notna()]
    if ready(closed, "closed leads with a score", "No closed lead had a score yet: the "
             "calibration appears once scored leads convert or are disqualified."):
        table = calibration(closed)
        figure = px.line(table, x="predicted", y="actual", markers=True,
                         hover_data=["bin", "leads"],
                         labels={"predicted": "predicted conversion",
                                 "actual": "actual conversion"})
        figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                                    line={"dash": "dash", "color": "grey"}))
        st.plotly_chart(figure, width="stretch")
        st.dataframe(table, hide_index=True, width="stretch")
        download(table, "calibration")
