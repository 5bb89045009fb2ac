"""Everything Dagster runs for salesops: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs import attribution, automations, dbt, ingest, merge, ml, sentiment
from orchestration.resources import database, hubspot_api, source_files

defs = dg.Definitions(
    assets=[*ingest.ingest_assets, merge.merge_into_app, dbt.salesops_dbt,
            ml.lead_scoring_model, ml.lead_scores,
            sentiment.email_sentiment_model, sentiment.sentiment_analysis,
            attribution.attribution],
    jobs=[ml.score_new_leads, sentiment.score_sentiment, attribution.attribution_job,
          *automations.jobs],
    schedules=[sentiment.sentiment_schedule, attribution.attribution_schedule,
               *automations.schedules],
    sensors=[ml.new_lead_sensor, *automations.sensors],
    resources={"database": database(), "source_files": source_files(),
               "dbt": dbt.dbt_resource(), "hubspot_api": hubspot_api(),
               "mail": automations.mail_resource()},
)
