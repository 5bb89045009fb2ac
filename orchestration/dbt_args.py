"""The dbt command lines of the two dbt jobs, as pure functions (the Dagster jobs, the
benchmark and the tests all build them here).

- The incremental run: `dbt build --selector incremental` (dbt_project/selectors.yml: the
  incremental models, the tables they read, campaign performance and attribution by
  channel, and the generic tests whose every parent it builds: `--indirect-selection
  cautious`), with var
  `test_changed_rows_only`, so the data tests of the incremental models read only the rows
  it wrote, and var `persist_docs` false: the table and column comments are the daily
  build's (they only change with the ymls).
- The full daily build: `dbt build --full-refresh`: every model recomputed from its inputs,
  every data and unit test on every row.
"""

from __future__ import annotations

import json
from typing import Any

INCREMENTAL_SELECTOR = "incremental"


def incremental_vars(dbt_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """dbt_vars, the data tests of the incremental models on the rows this run wrote, and
    no comments written (dbt_project.yml's persist_docs)."""
    return {**(dbt_vars or {}), "test_changed_rows_only": True, "persist_docs": False}


def incremental_build_args(dbt_vars: dict[str, Any] | None = None) -> list[str]:
    """`dbt build` of the incremental selection, with the tests whose every parent it
    builds (cautious), testing the rows it writes."""
    return ["build", "--selector", INCREMENTAL_SELECTOR, "--indirect-selection", "cautious",
            "--vars", json.dumps(incremental_vars(dbt_vars))]


def full_build_args(dbt_vars: dict[str, Any] | None = None) -> list[str]:
    """`dbt build --full-refresh` of every model, with every test."""
    return ["build", "--full-refresh", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
