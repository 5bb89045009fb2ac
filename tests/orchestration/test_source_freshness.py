"""The freshness rules of dbt's raw and app sources, as Dagster asset checks on the source
assets: a fresh table passes, one past warn_after warns, one past error_after or never
loaded fails with an error."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from salesops.warehouse import dbt_env


def test_source_freshness_checks_in_dagster(clean_db, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in dbt_env(database_url).items():
        monkeypatch.setenv(name, value)
    # imported here: a stale manifest is re-parsed on import, which needs the connection
    from orchestration.defs import dbt

    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "insert into ops.load_batches (batch_id, source, entity, status) "
            "values ('00000000-0000-0000-0000-000000000001', 'test', 'events', 'loaded')"))
        conn.execute(sa.text(
            "insert into raw.touchpoints__events (batch_id, source, source_key, content_hash, "
            "loaded_at, record) values ('00000000-0000-0000-0000-000000000001', 'test', 'e1', "
            "'h', now() - interval '1 hour', '{}')"))
        conn.execute(sa.text("insert into app.accounts (name, updated_at) "
                             "values ('Stale', now() - interval '100 hours')"))
        conn.execute(sa.text("insert into app.contacts (first_name, updated_at) "
                             "values ('Late', now() - interval '30 hours')"))
    job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(
        dbt.source_freshness))
    defs = dg.Definitions(asset_checks=[dbt.source_freshness], jobs=[job],
                          resources={"dbt": dbt.dbt_resource()})
    result = defs.resolve_job_def("freshness").execute_in_process()
    assert result.success  # stale sources are failed checks, not a failed run
    evaluations = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {k.to_user_string() for k in dbt.FRESHNESS_SOURCES.values()}
    assert {"raw/touchpoints__events", "app/accounts", "app/leads"} <= set(evaluations)
    fresh = evaluations["raw/touchpoints__events"]
    assert fresh.passed and fresh.metadata["age_hours"].value < 2
    late = evaluations["app/contacts"]
    assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
    stale = evaluations["app/accounts"]
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.ERROR
    assert stale.metadata["age_hours"].value >= 100
    never = evaluations["app/leads"]  # no row at all
    assert not never.passed and never.severity == dg.AssetCheckSeverity.ERROR
