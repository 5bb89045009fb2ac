"""The salesops dashboards: `streamlit run dashboards/app.py` (salesops up does it)."""

import streamlit as st

st.set_page_config(page_title="salesops", page_icon=":bar_chart:", layout="wide")

PAGES = [
    st.Page("pages/pipeline.py", title="Pipeline", icon=":material/filter_alt:", default=True),
    st.Page("pages/data_health.py", title="Data health", icon=":material/monitor_heart:"),
]

st.navigation(PAGES).run()
