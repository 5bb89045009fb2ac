"""The merge of `raw` into `app`: matching, dedupe and assignment, set-based, through the
domain rules in salesops.merge. One asset per app table it writes."""


from collections.abc import Iterator

import dagster as dg

from orchestration.defs.ingest import DROP_KEYS, RAW_KEYS
from orchestration.resources import Database
from salesops.merge import STEPS, merge_entity
from salesops.settings import Settings

GROUP = "merge"

#: merge step -> the app tables it writes (asset keys ["app", table], dbt's `app` sources).
TABLES: dict[str, tuple[str, ...]] = {
    "roles": ("roles",), "teams": ("teams",), "users": ("users",), "accounts": ("accounts",),
    "campaigns": ("marketing_campaigns",), "contacts": ("contacts", "contact_sources"),
    "leads": ("leads",), "pipeline": ("pipelines", "pipeline_stages"),
    "deals": ("sales_pipeline",), "deal_stage_history": ("deal_stage_history",),
    "tasks": ("tasks",), "campaign_members": ("campaign_members",),
    "interactions": ("interactions",), "lead_assignment": ("lead_assignments",),
}
assert set(TABLES) == {name for name, _ in STEPS}, "every merge step needs its tables here"


@dg.multi_asset(
    name="merge_into_app", group_name=GROUP, can_subset=False,
    specs=[dg.AssetSpec(["app", table], kinds={"postgres"}, deps=[*RAW_KEYS, *DROP_KEYS],
                        description=f"app.{table}, merged from every source")
           for tables in TABLES.values() for table in tables],
)
def merge_into_app(context: dg.AssetExecutionContext, database: Database) -> Iterator:
    owners = Settings().mailbox_owner_list
    for step, _ in STEPS:
        counts = merge_entity(database.engine, step, owners)
        context.log.info(f"{step}: {counts.rows_in} in, {counts.created} created, "
                         f"{counts.updated} updated, {counts.rejected} quarantined")
        for table in TABLES[step]:
            yield dg.MaterializeResult(
                asset_key=["app", table],
                metadata={"rows_in": counts.rows_in, "created": counts.created,
                          "updated": counts.updated, "rejected": counts.rejected})
