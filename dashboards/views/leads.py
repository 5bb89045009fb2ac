"""Leads: the open leads by priority with their score and why, and how good the scores are."""

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards.data import download, query, ready
from dashboards.filters import choice, date_range, frame_options, owner_clause, owners
from dashboards.scores import calibration, reasons_text

BANDS = ["A", "B", "C", "D"]
QUEUE_LIMIT = 1000

OPTIONS_SQL = "select distinct lead_source, industry from marts.fct_leads"

#: The leads in the filters with their latest score. Only open leads are scored, so the
#: latest score of a closed lead is the one it had before it closed: the calibration's input.
SCORED = """
    with scored as (
        select l.lead_id, l.company, l.title, l.lead_source, l.status, l.created_at,
               l.is_converted, l.is_closed, s.score, s.band, s.probability, s.reasons,
               s.model_version, s.scored_at
        from marts.fct_leads l
        left join lateral (
            select score, band, probability, reasons, model_version, scored_at from ml.lead_scores
            where lead_scores.lead_id = l.lead_id
            order by scored_at desc, id desc limit 1) s on true
        where l.created_at::date between :start and :end
          and (cardinality(cast(:sources as text[])) = 0
               or l.lead_source = any(cast(:sources as text[])))
          and (cardinality(cast(:industries as text[])) = 0
               or l.industry = any(cast(:industries as text[])))
          and """ + owner_clause("l.owner_id") + ")"

COUNTS_SQL = SCORED + """
    select count(*) as leads, count(*) filter (where not is_closed) as open_leads,
           count(*) filter (where not is_closed and band = 'A') as open_in_band_a,
           count(score) as scored
    from scored"""

QUEUE_SQL = SCORED + """
    select lead_id, score, band, probability, reasons, company, title, lead_source, status,
           created_at, model_version, scored_at
    from scored
    where not is_closed
      and (cardinality(cast(:bands as text[])) = 0 or band = any(cast(:bands as text[])))
    order by score desc nulls last, created_at desc
    limit :limit"""

DISTRIBUTION_SQL = SCORED + """
    select score, band, count(*) as leads from scored where score is not null
    group by score, band order by score"""

OUTCOMES_SQL = SCORED + """
    select probability, is_converted from scored where is_closed and probability is not null"""

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

counts = query(COUNTS_SQL, params)
if ready(counts, "leads") and ready(counts[counts.leads > 0], "leads"):
    c1, c2, c3 = st.columns(3)
    c1.metric("Open leads", f"{counts.open_leads[0]:,}")
    c2.metric("Open leads in band A", f"{counts.open_in_band_a[0]:,}")
    c3.metric("Leads with a score", f"{counts.scored[0]:,}")

    st.subheader("Open leads by priority")
    queue = query(QUEUE_SQL, {**params, "bands": bands, "limit": QUEUE_LIMIT})
    if ready(queue, "open leads"):
        if queue.score.isna().all():
            st.info(NOT_SCORED)
        if len(queue) == QUEUE_LIMIT:
            st.caption(f"The {QUEUE_LIMIT:,} highest-scored open leads.")
        queue.insert(4, "top_reasons", queue.pop("reasons").map(reasons_text))
        st.dataframe(queue, hide_index=True, width="stretch")
        download(queue, "open_leads")

    st.subheader("Score distribution")
    distribution = query(DISTRIBUTION_SQL, params)
    if ready(distribution, "scored leads", NOT_SCORED):
        st.plotly_chart(px.histogram(distribution, x="score", y="leads", histfunc="sum",
                                     color="band", nbins=20, category_orders={"band": BANDS}),
                        width="stretch")

    st.subheader("Predicted against actual conversion")
    st.caption("Closed leads that had a score, grouped by predicted probability: a "
               "well-calibrated model sits on the diagonal.")
    outcomes = query(OUTCOMES_SQL, params)
    if ready(outcomes, "closed leads with a score", "No closed lead had a score yet: the "
             "calibration appears once scored leads convert or are disqualified."):
        table = calibration(outcomes.probability, outcomes.is_converted)
        figure = px.line(table, x="predicted", y="actual", markers=True,
                         hover_data=["bin", "leads"],
                         labels={"predicted": "predicted conversion",
                                 "actual": "actual conversion"})
        figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                                    line={"dash": "dash", "color": "grey"}))
        st.plotly_chart(figure, width="stretch")
        st.dataframe(table, hide_index=True, width="stretch")
        download(table, "calibration")
