"""Shared by the model tests that read the warehouse: the feature views of deals and actions
built by dbt over a test database's app tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

#: The feature views the win-probability and next-best-action models read, and what they
#: read (staging views): views only, so building them is quick and they follow the data.
FEATURE_VIEWS = ["+deal_features", "+deal_stage_features", "+action_record_features",
                 "+action_event_features"]


@pytest.fixture(scope="session")
def build_feature_views(dbt_target: Path, dbt_vars: list[str]) -> Callable[[str], None]:
    """Build the feature views in the database at a URL (`dbt run`, no tests)."""
    from salesops.warehouse import run_dbt

    def build(database_url: str) -> None:
        run_dbt(["run", "--select", *FEATURE_VIEWS, *dbt_vars], database_url,
                target_path=dbt_target, quiet=True)

    return build
