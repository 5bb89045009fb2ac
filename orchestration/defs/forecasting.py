"""Win probability and revenue forecast as assets: the model is retrained and the forecast
re-run every Monday morning, each forecast kept with its as-of date (ml.forecast_accuracy
compares them with what was won)."""


import dagster as dg

from orchestration.resources import Database
from salesops.settings import Settings

GROUP = "forecasting"
DEAL_KEYS = [dg.AssetKey(["app", "sales_pipeline"]), dg.AssetKey(["app", "deal_stage_history"])]
MODEL_KEY = dg.AssetKey(["ml", "win_probability_model"])
FORECASTS_KEY = dg.AssetKey(["ml", "forecasts"])


@dg.asset(key=MODEL_KEY, group_name=GROUP, deps=DEAL_KEYS, kinds={"mlflow", "sklearn"},
          op_tags={"salesops/heavy": "train"},
          description="The win-probability model: the month each open deal is won in, learned "
                      "from monthly pipeline snapshots; promoted to champion only when it beats "
                      "the current one on the newest snapshots.")
def win_probability_model(context: dg.AssetExecutionContext,
                          database: Database) -> dg.MaterializeResult:
    from ml.forecasting.train import train  # heavy (sklearn, mlflow): loaded when a run needs it

    result = train(database.url, Settings().artifacts_path)
    context.log.info(f"version {result.version}: {result.metrics}; alias {result.alias}")
    return dg.MaterializeResult(metadata={
        "version": result.version, "mlflow_run_id": result.run_id, "alias": result.alias,
        "promoted": result.promoted, **{f"holdout_{k}": v for k, v in result.metrics.items()},
        **{f"baseline_{k}": v for k, v in result.baseline_metrics.items()}})


@dg.asset(key=FORECASTS_KEY, group_name=GROUP, deps=[MODEL_KEY], kinds={"postgres"},
          description="Per open deal: win probability, expected close date, forecast category. "
                      "Per month and quarter, for everyone, each team and each rep: P10/P50/P90 "
                      "of bookings (Monte-Carlo), by forecast category too.")
def forecasts(database: Database) -> dg.MaterializeResult:
    from ml.forecasting.score import score

    return dg.MaterializeResult(metadata={"rows": score(database.url)})


forecast_job = dg.define_asset_job("weekly_forecast", selection=[MODEL_KEY, FORECASTS_KEY])
weekly_forecast = dg.ScheduleDefinition(job=forecast_job, cron_schedule="0 6 * * 1",
                                        execution_timezone="UTC")
