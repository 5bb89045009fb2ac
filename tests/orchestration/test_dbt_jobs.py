"""The two dbt jobs: the hourly incremental run (dbt's `incremental` selector, its data
tests on the rows it wrote) and the daily full build; their dbt arguments."""

from __future__ import annotations

import json

import dagster as dg

from orchestration.dbt_args import full_build_args, incremental_build_args
from salesops.warehouse import dbt_env


def test_incremental_args_test_the_rows_the_run_writes():
    args = incremental_build_args({"as_of": "2025-06-01"})
    assert args[:5] == ["build", "--selector", "incremental", "--indirect-selection", "cautious"]
    assert json.loads(args[args.index("--vars") + 1]) == {
        "as_of": "2025-06-01", "test_changed_rows_only": True, "persist_docs": False}
    assert full_build_args() == ["build", "--full-refresh"]
    assert full_build_args({"as_of": "x"}) == ["build", "--full-refresh", "--vars",
                                               '{"as_of": "x"}']


def test_jobs_select_the_incremental_group_and_everything(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in dbt_env(database_url).items():
        monkeypatch.setenv(name, value)
    # imported here: a stale manifest is re-parsed on import, which needs the connection
    from orchestration.definitions import defs
    from orchestration.defs import dbt

    assert dbt.build_args(dbt.BuildMode.INCREMENTAL) == [
        "build", "--vars", '{"test_changed_rows_only": true, "persist_docs": false}']
    assert dbt.build_args(dbt.BuildMode.FULL_REFRESH) == ["build", "--full-refresh"]
    assert dbt.build_args(dbt.BuildMode.BUILD) == ["build"]

    graph = defs.resolve_asset_graph()
    incremental = {key.path[-1] for key in dbt.dbt_incremental_job.selection.resolve(graph)}
    assert {"fct_leads", "dim_contacts", "fct_deals", "int_leads__funnel_stages",
            "int_attribution__conversions", "fct_campaign_performance", "fct_touchpoints",
            "fct_attribution", "int_deals__stage_history_sequenced",
            "int_deals__open_by_day", "fct_pipeline_daily"} <= incremental
    # views need no rebuild (fct_deal_stage_history and fct_pipeline_daily_snapshot are,
    # over the tables above); the daily tables wait for the full build
    assert not incremental & {"stg_app__contacts", "lead_features", "fct_deal_stage_history",
                              "fct_pipeline_daily_snapshot", "dim_date", "sales_velocity"}
    full = {key.path[-1] for key in dbt.dbt_full_build_job.selection.resolve(graph)}
    assert incremental < full and {"dim_date", "stg_app__contacts"} <= full

    schedules = {s.job_name: s.cron_schedule for s in defs.schedules}
    assert schedules["dbt_incremental"] == "15 * * * *"
    assert schedules["dbt_full_build"] == "0 2 * * *"
    for job, mode in ((dbt.dbt_incremental_job, "INCREMENTAL"),
                      (dbt.dbt_full_build_job, "FULL_REFRESH")):
        assert job.config["ops"]["salesops_dbt"]["config"] == {"mode": mode}
    for name in ("dbt_incremental", "dbt_full_build"):
        assert isinstance(defs.resolve_job_def(name), dg.JobDefinition)
