"""Sidebar filters kept in the URL's query parameters, so a filtered view can be shared.

Each filter reads its starting value from `st.query_params` (else from what was picked on
another page in this session, so filters follow the user from page to page) and writes the
value picked back, so the address bar always holds the view on screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboards.data import query

#: The people who sell (own deals or are reps or managers), with their team: the rows the
#: team and rep filters choose among. From the small users dimension, not the deals fact.
OWNERS_SQL = """
    select user_id as owner_id, full_name as owner_name, team_id,
           coalesce(team_name, 'Team ' || team_id) as team_name
    from marts.dim_users
    where is_sales_rep and full_name is not null order by full_name"""


def _wanted(key: str) -> str:
    """The filter's value in the URL, else the one last picked in this session."""
    return st.query_params.get(key, st.session_state.get(f"_filter_{key}", ""))


def _keep(key: str, value: str) -> None:
    st.session_state[f"_filter_{key}"] = value
    if value:
        st.query_params[key] = value
    else:
        st.query_params.pop(key, None)


def date_range(label: str = "Created between", key: str = "range",
               days: int = 365) -> tuple[date, date]:
    """A date range (inclusive) from `?range=YYYY-MM-DD..YYYY-MM-DD`, default the last year."""
    default = (date.today() - timedelta(days=days), date.today())
    try:
        start, end = (date.fromisoformat(p) for p in _wanted(key).split(".."))
    except ValueError:
        start, end = default
    picked = st.sidebar.date_input(label, (start, end))
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
        _keep(key, f"{start}..{end}")
    return start, end


def choice(label: str, key: str, options: list[str]) -> list[str]:
    """A multi-select kept as `?key=a,b`; empty means all."""
    wanted = [v for v in _wanted(key).split(",") if v in options]
    picked = st.sidebar.multiselect(label, options, default=wanted)
    _keep(key, ",".join(picked))
    return picked


def one(label: str, key: str, options: list[str], default: str | None = None,
        shown: Callable[[str], str] = str) -> str | None:
    """A single choice kept as `?key=a` (`shown` says how to show an option); None when
    there is nothing to choose from."""
    if not options:
        return None
    wanted = _wanted(key) or default
    index = options.index(wanted) if wanted in options else 0
    picked = st.sidebar.selectbox(label, options, index=index, format_func=shown)
    _keep(key, picked)
    return picked


def owners() -> list[int] | None:
    """Team (`?team=`) and rep (`?rep=`) filters, as the owner ids they leave in view;
    None when neither narrows anything (all owners, including deals with none)."""
    frame = query(OWNERS_SQL)
    if "owner_id" not in frame:
        return None
    teams = choice("Team", "team", sorted(frame.team_name.dropna().unique()))
    if teams:
        frame = frame[frame.team_name.isin(teams)]
    reps = choice("Rep", "rep", sorted(frame.owner_name.unique()))
    if reps:
        frame = frame[frame.owner_name.isin(reps)]
    if not teams and not reps:
        return None
    return sorted(int(i) for i in frame.owner_id)


def owner_clause(column: str) -> str:
    """SQL keeping the rows whose `column` is one of the `:owners` parameter (null: all)."""
    return f"(cast(:owners as bigint[]) is null or {column} = any(cast(:owners as bigint[])))"


def frame_options(frame: pd.DataFrame, column: str) -> list[str]:
    """The distinct values of `column` (none when the frame lacks it: an unbuilt mart)."""
    return sorted(frame[column].dropna().unique()) if column in frame else []
