"""Data health: when each source last loaded, what came in, what was quarantined, the
latest evaluation of each model, and whether a model scores data unlike what it learned from
(drift)."""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready
from salesops.models.raw import RAW_ENTITIES

#: The sources salesops ingests (`mapped`, any other CRM's export, is optional).
SOURCES = sorted({source for source, _ in RAW_ENTITIES} - {"mapped"})

LOADS_SQL = """
    select source, entity, max(finished_at) as last_loaded, count(*) as batches,
           sum(rows_loaded) as rows_loaded, sum(rows_duplicate) as rows_duplicate,
           sum(rows_rejected) as rows_rejected,
           count(*) filter (where status = 'failed') as failed_batches
    from ops.load_batches group by source, entity order by source, entity"""

REJECTS_SQL = """
    select source, entity, stage, reason, count(*) as rows, max(rejected_at) as last_seen
    from ops.rejected_rows group by 1, 2, 3, 4 order by rows desc limit 200"""

#: The latest value of each metric of each model.
MODELS_SQL = """
    select distinct on (model_name, metric)
           model_name, metric, value, model_version, dataset, recorded_at from ml.model_metrics
    order by model_name, metric, recorded_at desc, id desc"""

#: Each model's latest drift check (marts.fct_model_drift): features and score, largest first.
DRIFT_SQL = """
    select model_name, model_version, checked_at, measured_kind, feature, psi, psi_threshold,
           is_drifted, reference_mean, current_mean, rows_current, is_model_flagged
    from marts.fct_model_drift where is_latest_check order by model_name, psi desc"""

st.title("Data health")

batches = query(LOADS_SQL)
if ready(batches, "loads", "No source has loaded yet: run the ingestion in the Dagster UI "
         "(or `salesops up` on a new data folder)."):
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows loaded", f"{int(batches.rows_loaded.sum()):,}")
    c2.metric("Rows quarantined", f"{int(batches.rows_rejected.sum()):,}")
    c3.metric("Failed batches", int(batches.failed_batches.sum()))
    st.dataframe(batches, hide_index=True, width="stretch")
    download(batches, "loads")
    if never := [source for source in SOURCES if source not in set(batches.source)]:
        st.info(f"Never loaded: {', '.join(never)}. Their numbers stay empty on every page "
                "until they load: run their ingestion in the Dagster UI.")

st.subheader("Quarantined rows")
rejects = query(REJECTS_SQL)
if ready(rejects, "quarantined rows", "No row has been quarantined."):
    st.plotly_chart(px.bar(rejects, x="rows", y="reason", color="source", orientation="h"),
                    width="stretch")
    st.dataframe(rejects, hide_index=True, width="stretch")
    download(rejects, "quarantined_rows")

st.subheader("Models")
metrics = query(MODELS_SQL)
if ready(metrics, "model metrics", "No model has been trained yet."):
    st.dataframe(metrics, hide_index=True, width="stretch")
    download(metrics, "model_metrics")

st.subheader("Model drift")
drift = query(DRIFT_SQL)
if ready(drift, "drift check", "No drift check yet: a model measures drift each time it "
         "scores a full batch, against the data it was trained on."):
    for name, checked in drift[drift.is_model_flagged].groupby("model_name", sort=True):
        moved = ", ".join(checked.loc[checked.is_drifted, "feature"])
        st.warning(f"{name} is flagged for drift: {moved} moved past PSI "
                   f"{checked.psi_threshold.iloc[0]:g} since training. Check the data, or "
                   "retrain the model.")
    st.caption("Population stability index (PSI) of each feature and of the score in the "
               "latest scoring run against the model's training data: below 0.1 stable, "
               "0.1-0.2 moving, at or above the threshold drifted.")
    st.plotly_chart(px.bar(drift, x="psi", y="feature", color="model_name", orientation="h"),
                    width="stretch")
    st.dataframe(drift, hide_index=True, width="stretch")
    download(drift, "model_drift")
