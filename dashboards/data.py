"""Cached reads for every page, and the empty states they share."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from salesops import reads

TTL_SECONDS = 60


def database_url() -> str | None:
    return os.environ.get("DATABASE_URL")


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def query(sql: str, params: dict | None = None) -> pd.DataFrame:
    url = database_url()
    if not url:
        return reads.Missing()
    return reads.read(url, sql, params)


def ready(frame: pd.DataFrame, what: str, empty: str | None = None,
          missing: str | None = None) -> bool:
    """Say in plain words why there is nothing to show; True when there is.

    `empty` is what to say when the table exists but no row matches (default: that no
    row matches the filters); `missing`, when the table has not been built."""
    if not database_url():
        st.warning("No database is configured. Start the dashboards with `salesops up`, or "
                   "set DATABASE_URL.")
        return False
    if isinstance(frame, reads.Missing):
        st.info(missing or f"No {what} yet: the table {frame.relation} has not been built. "
                "Run the pipeline in the Dagster UI (or `salesops up` on a new data folder).")
        return False
    if frame.empty:
        st.info(empty or f"No {what} match these filters.")
        return False
    return True


#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell (and header) that a spreadsheet would run as a formula
    prefixed with a quote, so an exported CSV shows it as text; numbers are left alone."""

    def safe(value):
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) \
            else value

    out = frame.rename(columns=lambda c: safe(str(c)))
    for column in out.select_dtypes(include=["object", "string"]).columns:
        out[column] = out[column].map(safe)
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return spreadsheet_safe(frame).to_csv(index=False).encode()


def download(frame: pd.DataFrame, name: str) -> None:
    st.download_button(f"Download {name} as CSV", csv_bytes(frame),
                       file_name=f"{name}.csv", mime="text/csv", key=f"download-{name}")
