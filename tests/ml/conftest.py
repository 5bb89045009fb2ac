"""Shared by the model tests that read the warehouse: the feature views of deals and actions
built by dbt over a test database's app tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

#: The feature views the win-probability and next-best-action models read, and what they
#: read (staging views): views only, so building them is quick and they follow the data.
FEATURE_VIEWS = ["+deal_features", "+deal_stage_features", "+action_record_features",
                 "+action_event_features"]


@pytest.fixture(scope="session")
def build_feature_views(database_url: str, dbt_target: Path, dbt_vars: list[str]
                        ) -> Callable[[str], None]:
    """Build the feature views in the database at a URL (`dbt run`, no tests).

    The project is parsed once, against the session's database (so the dbt tests' parse in
    the same target folder is reused), and each run is given that manifest, its nodes
    pointed at the run's database: a run against another database would otherwise parse
    the whole project again (dbt re-parses when the profile's connection changes)."""
    from dbt.cli.main import dbtRunner

    from salesops.warehouse import DBT_PROJECT_DIR, dbt_env

    folders = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    manifest = []

    def invoke(url: str, args: list[str]):
        with pytest.MonkeyPatch.context() as env:
            for name, value in {**dbt_env(url), "DBT_TARGET_PATH": str(dbt_target),
                                "DBT_LOG_PATH": str(dbt_target / "logs"),
                                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}.items():
                env.setenv(name, value)
            runner = dbtRunner(manifest=manifest[0]) if manifest else dbtRunner()
            result = runner.invoke(["--quiet", *args, *dbt_vars, *folders])
        assert result.success, result.exception or [r.message for r in result.result]
        return result

    def build(url: str) -> None:
        if not manifest:
            manifest.append(invoke(database_url, ["parse"]).result)
        # the parse names the session's database in every node: name this one instead
        database = dbt_env(url)["SALESOPS_DBT_DBNAME"]
        for node in [*manifest[0].nodes.values(), *manifest[0].sources.values()]:
            node.database = database
        invoke(url, ["run", "--select", *FEATURE_VIEWS])

    return build


@pytest.fixture
def view_set_aside() -> Callable[[sa.Engine, str], AbstractContextManager[None]]:
    """A context that renames a view (`schema.name`) aside and back, so a test can read
    what the models say when a mart they need has not been built."""

    @contextmanager
    def aside(engine: sa.Engine, view: str) -> Iterator[None]:
        schema, name = view.split(".")
        with engine.begin() as conn:
            conn.execute(sa.text(f"alter view {view} rename to {name}_set_aside"))
        try:
            yield
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f"alter view {schema}.{name}_set_aside rename to {name}"))

    return aside
