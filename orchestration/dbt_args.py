"""The dbt command lines of the two dbt jobs, as pure functions (the Dagster jobs, the
benchmark and the tests all build them here).

- The incremental run: `dbt build --selector incremental` (dbt_project/selectors.yml: the
  incremental models, the tables they read, campaign performance and attribution by
  channel), with var `test_changed_rows_only`, so the data tests of the big incremental
  models read only the rows it wrote.
- The full daily build: `dbt build --full-refresh`: every model recomputed from its inputs,
  every data and unit test on every row.
"""

from __future__ import annotations

import json
from typing import Any

INCREMENTAL_SELECTOR = "incremental"


def incremental_vars(dbt_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """dbt_vars, and the data tests of the big incremental models on the rows this run wrote."""
    return {**(dbt_vars or {}), "test_changed_rows_only": True}


def incremental_build_args(dbt_vars: dict[str, Any] | None = None) -> list[str]:
    """`dbt build` of the incremental selection, testing the rows it writes."""
    return ["build", "--selector", INCREMENTAL_SELECTOR,
            "--vars", json.dumps(incremental_vars(dbt_vars))]


def full_build_args(dbt_vars: dict[str, Any] | None = None) -> list[str]:
    """`dbt build --full-refresh` of every model, with every test."""
    return ["build", "--full-refresh", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
