"""The salesops dashboards: `streamlit run dashboards/app.py` (salesops up does it).

The pages live in `views/`, not `pages/`: Streamlit treats a `pages/` folder next to the
main script as an old-style multipage app until the main script has run once, so a shared
link opened on a freshly started server would skip `st.navigation` (wrong menu, no page
config)."""

import streamlit as st

st.set_page_config(page_title="salesops", page_icon=":bar_chart:", layout="wide")

PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("views/pipeline.py", title="Pipeline", icon=":material/filter_alt:"),
    st.Page("views/funnel.py", title="Funnel and velocity", icon=":material/speed:"),
    st.Page("views/leads.py", title="Leads", icon=":material/person_search:"),
    st.Page("views/campaigns.py", title="Campaigns and attribution",
            icon=":material/campaign:"),
    st.Page("views/engagement.py", title="Engagement and sentiment",
            icon=":material/forum:"),
    st.Page("views/work_queue.py", title="Work queue", icon=":material/checklist:"),
    st.Page("views/data_health.py", title="Data health", icon=":material/monitor_heart:"),
]

st.navigation(PAGES).run()
