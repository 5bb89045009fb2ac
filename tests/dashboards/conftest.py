"""Dashboards' tests share one rule (no cached read leaks from one test into the next) and
one data set (tests/dashboards/marts_rows.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import streamlit as st

from tests.dashboards.dashboard_app import marts_aside
from tests.dashboards.marts_rows import load_rows


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture(scope="module")
def data_url(database_url: str, engine: sa.Engine, truncate_data) -> Iterator[str]:
    """The test database holding the hand-made rows for the module's tests."""
    truncate_data()
    with marts_aside(engine):
        with engine.begin() as conn:
            load_rows(conn)
        try:
            yield database_url
        finally:
            truncate_data()
