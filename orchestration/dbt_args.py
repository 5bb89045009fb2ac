"""The dbt command lines of the two dbt jobs, as pure functions (the Dagster jobs, the
benchmark and the tests all build them here).

- The incremental run: `dbt build --selector incremental` (dbt_project/selectors.yml: the
  incremental models, the tables they read, the small tables tagged
  refresh_with_incremental), with var `test_rows_written_since` set to the run's start, so
  the data tests of the big incremental models read only the rows it wrote.
- The full daily build: `dbt build --full-refresh`: every model recomputed from its inputs,
  every data and unit test on every row.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

INCREMENTAL_SELECTOR = "incremental"


def incremental_vars(started: datetime, dbt_vars: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """dbt_vars and the incremental run's start (timezone-aware): its data tests read the
    rows written since."""
    if started.tzinfo is None:
        raise ValueError("started must be timezone-aware (e.g. datetime.now(UTC))")
    return {**(dbt_vars or {}), "test_rows_written_since": started.isoformat()}


def incremental_build_args(started: datetime, dbt_vars: dict[str, Any] | None = None
                           ) -> list[str]:
    """`dbt build` of the incremental selection, testing the rows written since `started`."""
    return ["build", "--selector", INCREMENTAL_SELECTOR,
            "--vars", json.dumps(incremental_vars(started, dbt_vars))]


def full_build_args(dbt_vars: dict[str, Any] | None = None) -> list[str]:
    """`dbt build --full-refresh` of every model, with every test."""
    return ["build", "--full-refresh", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
