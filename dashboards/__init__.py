"""Streamlit dashboards: a multipage app (`app.py`) that reads marts and ml tables through
salesops' read helpers, with caching, and writes only through the API."""
