"""Everything Dagster runs for salesops: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs import dbt, forecasting, ingest, merge, ml
from orchestration.resources import database, source_files

defs = dg.Definitions(
    assets=[*ingest.ingest_assets, merge.merge_into_app, dbt.salesops_dbt,
            ml.lead_scoring_model, ml.lead_scores,
            forecasting.win_probability_model, forecasting.forecasts],
    jobs=[ml.score_new_leads, forecasting.forecast_job],
    schedules=[forecasting.weekly_forecast],
    sensors=[ml.new_lead_sensor],
    resources={"database": database(), "source_files": source_files(),
               "dbt": dbt.dbt_resource()},
)
