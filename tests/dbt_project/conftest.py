"""Shared by the dbt tests: one dbt target folder for the session, so that every dbt call
after the first reuses its parse (dbt's partial parsing), and the vars they all pass (the
same vars keep the parse valid)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

#: A fixed reference time for ages and durations in fct_deals.
AS_OF = "2025-06-01 00:00:00+00"
DBT_VARS = ["--vars", json.dumps({"as_of": AS_OF})]


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="session")
def dbt_vars() -> list[str]:
    return DBT_VARS
