"""Ingestion: each source's connector read into `raw` by COPY, one asset per raw table.

A source is one multi-asset (one read of its files); every raw table it fills gets a
materialisation with the batch counts and an asset check on its quarantine rate. HubSpot
is read from its API v3 when HUBSPOT_TOKEN is set (incrementally, from its cursors in
`ops.cursors`), else from saved API pages.
"""


from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from connectors import hubspot_api as hubspot
from connectors import hubspot_files, mail, salesforce_export, touchpoints, webforms
from connectors.records import RecordBatch
from orchestration.ingestion import hubspot_cursors, load_batches
from orchestration.resources import Database, HubSpotApi, SourceFiles
from salesops.loading import LoadResult

#: Above this share of quarantined rows a load is flagged (the rows are still kept).
MAX_REJECT_RATE = 0.05
GROUP = "ingest"


@dataclass(frozen=True)
class Source:
    name: str
    entities: tuple[str, ...]
    description: str
    read: Callable[[SourceFiles, HubSpotApi, sa.Engine], Iterable[RecordBatch]]


def _hubspot(files: SourceFiles, api: HubSpotApi, engine: sa.Engine) -> Iterable[RecordBatch]:
    client = api.client()
    if client is None:
        return hubspot_files.read_folder(files.path("hubspot"))
    return hubspot.read(client, hubspot_cursors(engine))


SOURCES = (
    Source("salesforce", tuple(salesforce_export.OBJECTS.values()),
           "Salesforce weekly data export (CSV set)",
           lambda files, *_: salesforce_export.read_export(files.path("salesforce"))),
    Source("hubspot", hubspot.ENTITIES, "HubSpot CRM API v3", _hubspot),
    Source("email", (mail.ENTITY,), "Mailboxes: mbox and Maildir",
           lambda files, *_: mail.read_mail(files.path("mail"))),
    Source("webforms", (webforms.ENTITY,), "Web-form submissions (JSON lines)",
           lambda files, *_: webforms.read_submissions(
               files.path("webforms", "submissions.jsonl"))),
    Source("touchpoints", (touchpoints.ENTITY,), "Sessions, ad clicks, email opens and clicks",
           lambda files, *_: touchpoints.read_events(files.path("touchpoints", "events.jsonl"))),
)


def raw_key(source: str, entity: str) -> dg.AssetKey:
    """The key dbt's `raw` source tables map to."""
    return dg.AssetKey(["raw", f"{source}__{entity}"])


def _ingest_asset(source: Source) -> dg.AssetsDefinition:
    keys = {entity: raw_key(source.name, entity) for entity in source.entities}

    @dg.multi_asset(
        name=f"ingest_{source.name}",
        group_name=GROUP,
        specs=[dg.AssetSpec(key, description=f"{source.description}: {entity}, as loaded",
                            kinds={"postgres"}, skippable=True)
               for entity, key in keys.items()],
        check_specs=[dg.AssetCheckSpec("quarantine_rate", asset=key,
                                       description=f"At most {MAX_REJECT_RATE:.0%} of rows "
                                       "quarantined")
                     for key in keys.values()],
        can_subset=False,
    )
    def ingest(context: dg.AssetExecutionContext, database: Database,
               source_files: SourceFiles, hubspot_api: HubSpotApi) -> Iterator:
        def log(batch: RecordBatch, result: LoadResult) -> None:
            context.log.info(f"{batch.entity}: {result.rows_loaded} new, "
                             f"{result.rows_duplicate} already loaded, "
                             f"{result.rows_rejected} quarantined from {batch.origin}")

        engine = database.engine
        totals = load_batches(engine, source.read(source_files, hubspot_api, engine), log)
        for entity, key in keys.items():
            t = totals.get(entity)
            if t is None:  # nothing read: no materialisation, and nothing to flag
                context.log.warning(f"{source.name}.{entity}: no input found")
                yield dg.AssetCheckResult(asset_key=key, check_name="quarantine_rate",
                                          passed=True, metadata={"rows_in": 0})
                continue
            metadata = {"batches": t.batches, "rows_in": t.rows_in,
                        "rows_loaded": t.rows_loaded, "rows_duplicate": t.rows_duplicate,
                        "rows_rejected": t.rows_rejected}
            rate = t.rows_rejected / t.rows_in if t.rows_in else 0.0
            yield dg.MaterializeResult(asset_key=key, metadata={**metadata, "reject_rate": rate})
            yield dg.AssetCheckResult(
                asset_key=key, check_name="quarantine_rate", passed=rate <= MAX_REJECT_RATE,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"reject_rate": rate, "rows_rejected": t.rows_rejected})

    return ingest


ingest_assets = [_ingest_asset(source) for source in SOURCES]
RAW_KEYS = [raw_key(s.name, e) for s in SOURCES for e in s.entities]
