"""Sidebar filters kept in the URL's query parameters, so a filtered view can be shared."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st


def date_range(label: str = "Created between", key: str = "range",
               days: int = 365) -> tuple[date, date]:
    """A date range (inclusive) from `?range=YYYY-MM-DD..YYYY-MM-DD`, default the last year."""
    default = (date.today() - timedelta(days=days), date.today())
    try:
        start, end = (date.fromisoformat(p) for p in st.query_params.get(key, "").split(".."))
    except ValueError:
        start, end = default
    picked = st.sidebar.date_input(label, (start, end))
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
        st.query_params[key] = f"{start}..{end}"
    return start, end


def choice(label: str, key: str, options: list[str]) -> list[str]:
    """A multi-select kept as `?key=a,b`; empty means all."""
    wanted = [v for v in st.query_params.get(key, "").split(",") if v in options]
    picked = st.sidebar.multiselect(label, options, default=wanted)
    if picked:
        st.query_params[key] = ",".join(picked)
    else:
        st.query_params.pop(key, None)
    return picked


def one(label: str, key: str, options: list[str], default: str | None = None) -> str | None:
    """A single choice kept as `?key=a`; None when there is nothing to choose from."""
    if not options:
        return None
    wanted = st.query_params.get(key, default)
    index = options.index(wanted) if wanted in options else 0
    picked = st.sidebar.selectbox(label, options, index=index)
    st.query_params[key] = picked
    return picked
