"""Data health: when each source last loaded, what came in, what was quarantined, and the
latest evaluation of each model."""

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
