"""Real time: when dbt rebuilds the marts, the API's WebSocket feed is told, and pushes the
dashboards' new headline figures (`salesops.automation.dashboard_feed`)."""

from functools import cache

import dagster as dg

from orchestration.resources import Database
from salesops.automation import dashboard_feed


@cache
def mart_keys() -> list[dg.AssetKey]:
    """The dbt marts' asset keys (the dbt defs are imported here, not at load: they need
    the database's environment, which the code location has by the time a sensor runs)."""
    from orchestration.defs.dbt import salesops_dbt

    return sorted(key for key, group in salesops_dbt.group_names_by_key.items()
                  if group == "dbt_marts")


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="When a mart has been materialized since the last look, NOTIFY "
                       "salesops_marts: the API pushes the dashboards' figures to "
                       "WebSocket clients. Starts no run.")
def marts_refreshed_sensor(context: dg.SensorEvaluationContext, database: Database):
    latest = context.instance.get_latest_materialization_events(mart_keys())
    newest = max((event.timestamp for event in latest.values() if event), default=0.0)
    if newest <= float(context.cursor or 0):
        return dg.SkipReason("no mart rebuilt since the last look")
    dashboard_feed.announce(database.engine, "dbt")
    context.update_cursor(str(newest))
    return dg.SkipReason("marts rebuilt: dashboard figures announced to the API")


sensors = [marts_refreshed_sensor]
