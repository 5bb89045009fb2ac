"""Data-driven attribution (Markov chains of order 1 to 3, Shapley values) over the
warehouse's journeys, after dbt has built the touchpoint and rule-based attribution marts."""

import dagster as dg

from orchestration.resources import Database
from salesops.settings import Settings

GROUP = "ml"
KEY = dg.AssetKey(["ml", "attribution"])
DEPS = [dg.AssetKey(["marts", "fct_attribution"]), dg.AssetKey(["marts", "fct_touchpoints"])]


@dg.asset(key=KEY, group_name=GROUP, deps=DEPS, kinds={"mlflow", "postgres"},
          description="Conversions and revenue per model (markov_order_1..3, shapley), "
                      "channel, campaign and month, in the attribution mart's shape; each "
                      "run replaces the table and is logged to MLflow.")
def attribution(context: dg.AssetExecutionContext, database: Database) -> dg.MaterializeResult:
    from ml.attribution import attribute

    result = attribute(database.url, Settings().artifacts_path)
    context.log.info(f"{result.rows} rows from {result.journeys} journeys")
    return dg.MaterializeResult(metadata={
        "rows": result.rows, "journeys": result.journeys, "conversions": result.conversions,
        "mlflow_run_id": result.run_id})


attribution_job = dg.define_asset_job(
    "data_driven_attribution", selection=dg.AssetSelection.assets(KEY),
    description="Recompute data-driven attribution.")

attribution_schedule = dg.ScheduleDefinition(
    job=attribution_job, cron_schedule="30 2 * * *",
    description="Nightly, after the marts are rebuilt.")
