"""Data health: when each source last loaded, what came in, and what was quarantined."""

import plotly.express as px
import streamlit as st

from dashboards.data import download, query, ready

st.title("Data health")

batches = query("""
    select source, entity, max(finished_at) as last_loaded, count(*) as batches,
           sum(rows_loaded) as rows_loaded, sum(rows_duplicate) as rows_duplicate,
           sum(rows_rejected) as rows_rejected,
           count(*) filter (where status = 'failed') as failed_batches
    from ops.load_batches group by source, entity order by source, entity""")

if ready(batches, "loads"):
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows loaded", f"{int(batches.rows_loaded.sum()):,}")
    c2.metric("Rows quarantined", f"{int(batches.rows_rejected.sum()):,}")
    c3.metric("Failed batches", int(batches.failed_batches.sum()))
    st.dataframe(batches, hide_index=True, use_container_width=True)
    download(batches, "loads")

st.subheader("Quarantined rows")
rejects = query("""
    select source, entity, stage, reason, count(*) as rows, max(rejected_at) as last_seen
    from ops.rejected_rows group by 1, 2, 3, 4 order by rows desc limit 200""")
if ready(rejects, "quarantined rows"):
    st.plotly_chart(px.bar(rejects, x="rows", y="reason", color="source", orientation="h"),
                    use_container_width=True)
    st.dataframe(rejects, hide_index=True, use_container_width=True)
    download(rejects, "quarantined_rows")
