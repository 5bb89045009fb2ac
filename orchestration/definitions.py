"""Everything Dagster runs for salesops: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from orchestration.defs import automations, dbt, ingest, merge, ml
from orchestration.resources import database, hubspot_api, source_files

defs = dg.Definitions(
    assets=[*ingest.ingest_assets, merge.merge_into_app, dbt.salesops_dbt,
            ml.lead_scoring_model, ml.lead_scores],
    jobs=[ml.score_new_leads, *automations.jobs],
    schedules=automations.schedules,
    sensors=[ml.new_lead_sensor, *automations.sensors],
    resources={"database": database(), "source_files": source_files(),
               "dbt": dbt.dbt_resource(), "hubspot_api": hubspot_api(),
               "mail": automations.mail_resource()},
)
