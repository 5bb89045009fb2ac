"""Data lifecycle: the retention policies (archive, delete, purge the trash) every night.
The rules and their SQL live in `salesops.automation.lifecycle`; every step is in
`ops.lifecycle_actions` and the audit log (`salesops lifecycle report`)."""

import dagster as dg

from orchestration.resources import Database
from orchestration.runs import single_op_job
from salesops.automation import lifecycle

TAGS = {"salesops/system": "automations", "salesops/automation": "lifecycle"}


@dg.op(description="Apply the retention policies (lifecycle.yaml or "
                   "SALESOPS_LIFECYCLE_POLICIES): archive old rows to the archive schema, "
                   "delete short-lived ones, hard-delete the trash after its period.")
def apply_retention(context: dg.OpExecutionContext, database: Database) -> dict:
    results = lifecycle.run(database.engine)
    totals: dict[str, int] = {}
    for r in results:
        if r.rows or r.blocked:
            context.log.info(f"{r.action} {r.entity}: {r.rows} rows ({r.policy})"
                             + (f", {len(r.blocked)} kept: {r.blocked[:3]}" if r.blocked
                                else ""))
        totals[r.action] = totals.get(r.action, 0) + r.rows
    context.add_output_metadata(totals)
    return totals


data_lifecycle = single_op_job("data_lifecycle", apply_retention,
                               "Retention: archive, delete, purge the trash; audited.", TAGS)

lifecycle_schedule = dg.ScheduleDefinition(
    name="data_lifecycle_nightly", job=data_lifecycle, cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING, tags={"salesops/trigger": "schedule"},
    description="Applies the retention policies every night at 02:30.")

jobs = [data_lifecycle]
schedules = [lifecycle_schedule]
