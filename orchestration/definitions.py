"""Everything Dagster runs for salesops: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs import (
    attribution,
    automations,
    crm_sync,
    dbt,
    forecasting,
    ingest,
    lifecycle,
    merge,
    ml,
    realtime,
    sentiment,
    workflows,
)
from orchestration.resources import database, hubspot_api, imap_mailbox, source_files

defs = dg.Definitions(
    assets=[*ingest.ingest_assets, *ingest.drop_assets, merge.merge_into_app, dbt.salesops_dbt,
            ml.lead_scoring_model, ml.lead_scores,
            sentiment.email_sentiment_model, sentiment.sentiment_analysis,
            attribution.attribution,
            forecasting.win_probability_model, forecasting.forecasts,
            forecasting.next_best_action_model, forecasting.next_best_actions],
    asset_checks=[dbt.source_freshness, ml.lead_scores_drift, forecasting.forecasts_drift,
                  forecasting.next_best_actions_drift],
    jobs=[ml.score_new_leads, sentiment.score_sentiment, attribution.attribution_job,
          forecasting.forecast_job, forecasting.nba_job, *automations.jobs,
          *workflows.jobs, *crm_sync.jobs, *lifecycle.jobs,
          dbt.dbt_incremental_job, dbt.dbt_full_build_job],
    schedules=[sentiment.sentiment_schedule, attribution.attribution_schedule,
               forecasting.weekly_forecast, forecasting.daily_next_best_actions,
               *automations.schedules, *crm_sync.schedules,
               *lifecycle.schedules, dbt.dbt_incremental_schedule,
               dbt.dbt_full_build_schedule],
    sensors=[ml.new_lead_sensor, *automations.sensors, *workflows.sensors,
             *realtime.sensors],
    resources={"database": database(), "source_files": source_files(),
               "dbt": dbt.dbt_resource(), "hubspot_api": hubspot_api(),
               "imap_mailbox": imap_mailbox(),
               "mail": automations.mail_resource()},
)
