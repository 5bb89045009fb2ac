"""Win probability, revenue forecast and next best actions as assets.

The forecast model is retrained and the forecast re-run every Monday morning, each forecast
kept with its as-of date (ml.forecast_accuracy compares them with what was won); next best
actions are re-learned and re-ranked every morning, so reps start the day with them."""


import dagster as dg

from orchestration.defs.ml import latest_drift, trained_model
from orchestration.resources import Database
from salesops.settings import Settings

GROUP = "forecasting"
#: The dbt feature views each model reads (dbt_project/models/marts/sales).
DEAL_KEYS = [dg.AssetKey(["marts", "deal_features"]), dg.AssetKey(["marts", "deal_stage_features"])]
MODEL_KEY = dg.AssetKey(["ml", "win_probability_model"])
FORECASTS_KEY = dg.AssetKey(["ml", "forecasts"])
ACTION_KEYS = [dg.AssetKey(["marts", "action_record_features"]),
               dg.AssetKey(["marts", "action_event_features"])]
NBA_MODEL_KEY = dg.AssetKey(["ml", "next_best_action_model"])
NBA_KEY = dg.AssetKey(["ml", "next_best_actions"])


@dg.asset(key=MODEL_KEY, group_name=GROUP, deps=DEAL_KEYS, kinds={"mlflow", "sklearn"},
          op_tags={"salesops/heavy": "train"},
          description="The win-probability model: the month each open deal is won in, learned "
                      "from monthly pipeline snapshots; promoted to champion only when it beats "
                      "the current one on the newest snapshots.")
def win_probability_model(context: dg.AssetExecutionContext,
                          database: Database) -> dg.MaterializeResult:
    from ml.forecasting.train import train  # heavy (sklearn, mlflow): loaded when a run needs it

    return trained_model(context, train(database.url, Settings().artifacts_path))


@dg.asset(key=FORECASTS_KEY, group_name=GROUP, deps=[MODEL_KEY], kinds={"postgres"},
          description="Per open deal: win probability, expected close date, forecast category. "
                      "Per month and quarter, for everyone, each team and each rep: P10/P50/P90 "
                      "of bookings (Monte-Carlo), by forecast category too.")
def forecasts(database: Database) -> dg.MaterializeResult:
    from ml.forecasting.score import score

    return dg.MaterializeResult(metadata={"rows": score(database.url)})


@dg.asset(key=NBA_MODEL_KEY, group_name=GROUP, deps=ACTION_KEYS, kinds={"mlflow", "sklearn"},
          op_tags={"salesops/heavy": "train"},
          description="Which action moved similar leads and deals forward (S-learner over "
                      "weekly decisions); champion only when its replay beats the current one.")
def next_best_action_model(context: dg.AssetExecutionContext,
                           database: Database) -> dg.MaterializeResult:
    from ml.next_best_action.train import train

    return trained_model(context, train(database.url, Settings().artifacts_path), "replay")


@dg.asset(key=NBA_KEY, group_name=GROUP, deps=[NBA_MODEL_KEY], kinds={"postgres"},
          description="Allowed actions for every open lead and deal, ranked, with confidence "
                      "and reason.")
def next_best_actions(database: Database) -> dg.MaterializeResult:
    from ml.next_best_action.score import score

    return dg.MaterializeResult(metadata={"rows": score(database.url)})


@dg.asset_check(asset=FORECASTS_KEY, blocking=False,
                description="Warns when the open deals' features or win probabilities drifted "
                            "from the model's training snapshots (PSI past "
                            "drift_psi_threshold; ml.model_drift).")
def forecasts_drift(database: Database) -> dg.AssetCheckResult:
    from ml.forecasting import MODEL_NAME

    return latest_drift(database, MODEL_NAME)


@dg.asset_check(asset=NBA_KEY, blocking=False,
                description="Warns when the open records' features or first-choice confidences "
                            "drifted from the model's training decisions (PSI past "
                            "drift_psi_threshold; ml.model_drift).")
def next_best_actions_drift(database: Database) -> dg.AssetCheckResult:
    from ml.next_best_action import MODEL_NAME

    return latest_drift(database, MODEL_NAME)


forecast_job = dg.define_asset_job("weekly_forecast", selection=[MODEL_KEY, FORECASTS_KEY])
weekly_forecast = dg.ScheduleDefinition(job=forecast_job, cron_schedule="0 6 * * 1",
                                        execution_timezone="UTC")
nba_job = dg.define_asset_job("daily_next_best_actions",
                              selection=[NBA_MODEL_KEY, NBA_KEY])
daily_next_best_actions = dg.ScheduleDefinition(job=nba_job, cron_schedule="0 5 * * *",
                                                execution_timezone="UTC")
