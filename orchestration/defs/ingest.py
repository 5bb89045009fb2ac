"""Ingestion: each source's connector read into `raw` by COPY, one asset per raw table.

A source is one multi-asset (one read of its files); every raw table it fills gets a
materialisation with the batch counts and an asset check on its quarantine rate.
"""


from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import dagster as dg

from connectors import hubspot_files, mail, salesforce_export, touchpoints, webforms
from connectors.records import RecordBatch
from orchestration.resources import Database, SourceFiles
from salesops.loading import load_batch

#: Above this share of quarantined rows a load is flagged (the rows are still kept).
MAX_REJECT_RATE = 0.05
GROUP = "ingest"


@dataclass(frozen=True)
class Source:
    name: str
    entities: tuple[str, ...]
    description: str
    read: Callable[[SourceFiles], Iterable[RecordBatch]]


SOURCES = (
    Source("salesforce", tuple(salesforce_export.OBJECTS.values()),
           "Salesforce weekly data export (CSV set)",
           lambda files: salesforce_export.read_export(files.path("salesforce"))),
    Source("hubspot", hubspot_files.OBJECTS, "HubSpot CRM API v3 pages",
           lambda files: hubspot_files.read_folder(files.path("hubspot"))),
    Source("email", (mail.ENTITY,), "Mailboxes: mbox and Maildir",
           lambda files: mail.read_mail(files.path("mail"))),
    Source("webforms", (webforms.ENTITY,), "Web-form submissions (JSON lines)",
           lambda files: webforms.read_submissions(files.path("webforms", "submissions.jsonl"))),
    Source("touchpoints", (touchpoints.ENTITY,), "Sessions, ad clicks, email opens and clicks",
           lambda files: touchpoints.read_events(files.path("touchpoints", "events.jsonl"))),
)


def raw_key(source: str, entity: str) -> dg.AssetKey:
    """The key dbt's `raw` source tables map to."""
    return dg.AssetKey(["raw", f"{source}__{entity}"])


def _totals() -> dict[str, int]:
    return {"batches": 0, "rows_in": 0, "rows_loaded": 0, "rows_duplicate": 0,
            "rows_rejected": 0}


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
               source_files: SourceFiles) -> Iterator:
        totals = {entity: _totals() for entity in keys}
        for batch in source.read(source_files):
            result = load_batch(database.engine, batch.source, batch.entity, batch.origin,
                                batch.records, batch.rejects)
            t = totals[batch.entity]
            t["batches"] += 1
            for field in ("rows_in", "rows_loaded", "rows_duplicate", "rows_rejected"):
                t[field] += getattr(result, field)
            context.log.info(f"{batch.entity}: {result.rows_loaded} new, "
                             f"{result.rows_duplicate} already loaded, "
                             f"{result.rows_rejected} quarantined from {batch.origin}")
        for entity, key in keys.items():
            t = totals[entity]
            if not t["batches"]:
                context.log.warning(f"{source.name}.{entity}: no input found")
                continue
            rate = t["rows_rejected"] / t["rows_in"] if t["rows_in"] else 0.0
            yield dg.MaterializeResult(asset_key=key, metadata={**t, "reject_rate": rate})
            yield dg.AssetCheckResult(
                asset_key=key, check_name="quarantine_rate", passed=rate <= MAX_REJECT_RATE,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"reject_rate": rate, "rows_rejected": t["rows_rejected"]})

    return ingest


ingest_assets = [_ingest_asset(source) for source in SOURCES]
RAW_KEYS = [raw_key(s.name, e) for s in SOURCES for e in s.entities]
