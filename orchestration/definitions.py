"""Everything Dagster runs for salesops: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs import (
    attribution,
    automations,
    dbt,
    forecasting,
    ingest,
    merge,
    ml,
    sentiment,
    workflows,
)
from orchestration.resources import database, hubspot_api, source_files

defs = dg.Definitions(
    assets=[*ingest.ingest_assets, merge.merge_into_app, dbt.salesops_dbt,
            ml.lead_scoring_model, ml.lead_scores,
            sentiment.email_sentiment_model, sentiment.sentiment_analysis,
            attribution.attribution,
            forecasting.win_probability_model, forecasting.forecasts,
            forecasting.next_best_action_model, forecasting.next_best_actions],
    asset_checks=[dbt.source_freshness, ml.lead_scores_drift],
    jobs=[ml.score_new_leads, sentiment.score_sentiment, attribution.attribution_job,
          forecasting.forecast_job, forecasting.nba_job, *automations.jobs,
          *workflows.jobs],
    schedules=[sentiment.sentiment_schedule, attribution.attribution_schedule,
               forecasting.weekly_forecast, forecasting.daily_next_best_actions,
               *automations.schedules],
    sensors=[ml.new_lead_sensor, *automations.sensors, *workflows.sensors],
    resources={"database": database(), "source_files": source_files(),
               "dbt": dbt.dbt_resource(), "hubspot_api": hubspot_api(),
               "mail": automations.mail_resource()},
)
