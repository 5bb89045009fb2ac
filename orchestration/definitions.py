"""Everything Dagster runs for salesops: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs import dbt, forecasting, ingest, merge, ml
from orchestration.resources import database, source_files

defs = dg.Definitions(
    assets=[*ingest.ingest_assets, merge.merge_into_app, dbt.salesops_dbt,
            ml.lead_scoring_model, ml.lead_scores,
            forecasting.win_probability_model, forecasting.forecasts,
            forecasting.next_best_action_model, forecasting.next_best_actions],
    jobs=[ml.score_new_leads, forecasting.forecast_job, forecasting.nba_job],
    schedules=[forecasting.weekly_forecast, forecasting.daily_next_best_actions],
    sensors=[ml.new_lead_sensor],
    resources={"database": database(), "source_files": source_files(),
               "dbt": dbt.dbt_resource()},
)
