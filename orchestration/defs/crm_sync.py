"""CRM write-back (reverse ETL): lead scores, next best actions and qualification status
to HubSpot contacts, hourly, by the conflict rules of `salesops.automation.crm_writeback`.
The sync log is `ops.crm_sync_log`; each run is an `app.integration_sync_runs` row."""

import dagster as dg

from orchestration.resources import Database, HubSpotApi
from orchestration.runs import single_op_job
from salesops.automation import crm_writeback

TAGS = {"salesops/system": "automations", "salesops/automation": "crm_writeback"}


class WriteBackConfig(dg.Config):
    full: bool = False  # compare every linked lead, not only what changed since the last run


@dg.op(description="Write lead scores, next best actions and qualification status back to "
                   "HubSpot contacts (batch update), field by field by the conflict rules; "
                   "every decision in ops.crm_sync_log.")
def write_back_to_crm(context: dg.OpExecutionContext, config: WriteBackConfig,
                      database: Database, hubspot_api: HubSpotApi) -> dict:
    client = hubspot_api.client()
    if client is None:
        context.log.warning(f"{hubspot_api.token_env} is not set: nothing written back to "
                            "HubSpot (set it to a private app token with contacts write scope)")
        return {"compared": 0, "pushed": 0, "kept_crm": 0, "applied": 0, "failed": 0}
    try:
        report = crm_writeback.write_back(database.engine, client, full=config.full)
    finally:
        client.close()
    if report.failed:
        context.log.warning(f"{report.failed} field writes failed (run {report.run_id}); the "
                            f"next run retries them: {report.errors[:3]}")
    result = {"compared": report.compared, "pushed": report.pushed,
              "kept_crm": report.kept_crm, "applied": report.applied,
              "failed": report.failed}
    context.log.info(f"CRM write-back run {report.run_id}: {result}")
    context.add_output_metadata({**result, "run_id": report.run_id})
    return result


crm_writeback_job = single_op_job(
    "crm_writeback", write_back_to_crm,
    "Reverse ETL to HubSpot: scores, next best actions, qualification status.", TAGS)

crm_writeback_schedule = dg.ScheduleDefinition(
    name="crm_writeback_hourly", job=crm_writeback_job, cron_schedule="17 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING, tags={"salesops/trigger": "schedule"},
    description="Writes what changed since the last run back to HubSpot every hour.")

jobs = [crm_writeback_job]
schedules = [crm_writeback_schedule]
