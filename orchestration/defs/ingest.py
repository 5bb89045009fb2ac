"""Ingestion: each source's connector read into `raw` by COPY, one asset per raw table.

A source is one multi-asset (one read of its files); every raw table it fills gets a
materialisation with the batch counts and three kinds of asset check:

- `quarantine_rate` (warning): at most MAX_REJECT_RATE of the rows quarantined;
- `expectations` (blocking): the Great Expectations suite of the raw entity
  (`orchestration.expectations`) on each batch that landed: ERROR, and nothing downstream
  runs, when the batch is unusable; WARN when values only look wrong;
- `imap_reconciliation` (email): per IMAP folder, the messages on the server against those
  loaded and quarantined.

HubSpot is read from its API v3 when HUBSPOT_TOKEN is set (incrementally, from its cursors
in `ops.cursors`), else from saved API pages; email reads the mail files and, when an IMAP
mailbox is configured, its folders from their UIDVALIDITY + UID cursors.

File-drop sources also have a daily-partitioned twin (group `ingest_drops`, keys
`drops/<table>`) reading `<source folder>/<YYYY-MM-DD>/`, so a backfill of a date range is
one launch in the UI or `salesops ingest <source> --from D --to D`. Each source carries a
freshness policy: how long its table may go without a load.
"""


from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from connectors import hubspot_api as hubspot
from connectors import hubspot_files, mail, salesforce_export, touchpoints, webforms
from connectors.records import RecordBatch
from orchestration.ingestion import FolderReport, Totals, hubspot_cursors, load_batches, sync_imap
from orchestration.resources import Database, HubSpotApi, ImapMailbox, SourceFiles
from salesops.loading import LoadResult
from salesops.settings import Settings

#: Above this share of quarantined rows a load is flagged (the rows are still kept).
MAX_REJECT_RATE = 0.05
GROUP = "ingest"
DROPS_GROUP = "ingest_drops"
QUARANTINE, EXPECTATIONS, RECONCILIATION = "quarantine_rate", "expectations", "imap_reconciliation"


@dataclass(frozen=True)
class Source:
    name: str
    entities: tuple[str, ...]
    description: str
    folder: str  # under the source files' root
    read: Callable[[Path, HubSpotApi, sa.Engine], Iterable[RecordBatch]]
    freshness: timedelta  # how long it may go without a load before it is overdue
    drops: bool = True  # files dropped daily under <folder>/<YYYY-MM-DD>/


def _hubspot(folder: Path, api: HubSpotApi, engine: sa.Engine) -> Iterable[RecordBatch]:
    client = api.client()
    if client is None:
        return hubspot_files.read_folder(folder)
    return hubspot.read(client, hubspot_cursors(engine))


SOURCES = (
    Source("salesforce", tuple(salesforce_export.OBJECTS.values()),
           "Salesforce weekly data export (CSV set)", "salesforce",
           lambda folder, *_: salesforce_export.read_export(folder), timedelta(days=8)),
    Source("hubspot", hubspot.ENTITIES, "HubSpot CRM API v3", "hubspot", _hubspot,
           timedelta(days=1), drops=False),
    Source("email", (mail.ENTITY,), "Mailboxes: mbox, Maildir and IMAP", "mail",
           lambda folder, *_: mail.read_mail(folder), timedelta(days=1)),
    Source("webforms", (webforms.ENTITY,), "Web-form submissions (JSON lines, CSV)", "webforms",
           lambda folder, *_: webforms.read_submissions(folder), timedelta(days=1)),
    Source("touchpoints", (touchpoints.ENTITY,), "Sessions, ad clicks, email opens and clicks",
           "touchpoints", lambda folder, *_: touchpoints.read_events(folder), timedelta(days=1)),
)
DAILY = dg.DailyPartitionsDefinition(start_date=Settings().drops_start.isoformat(),
                                     end_offset=1)  # today's drop can load today


def raw_key(source: str, entity: str) -> dg.AssetKey:
    """The key dbt's `raw` source tables map to."""
    return dg.AssetKey(["raw", f"{source}__{entity}"])


def drop_key(source: str, entity: str) -> dg.AssetKey:
    """The daily file drops of a raw table."""
    return dg.AssetKey(["drops", f"{source}__{entity}"])


def _check_specs(source: Source, keys: Iterable[dg.AssetKey],
                 partitioned: bool) -> list[dg.AssetCheckSpec]:
    specs = []
    for key in keys:
        specs += [
            dg.AssetCheckSpec(QUARANTINE, asset=key,
                              description=f"At most {MAX_REJECT_RATE:.0%} of rows quarantined"),
            dg.AssetCheckSpec(EXPECTATIONS, asset=key, blocking=True,
                              description="Great Expectations suite of each batch loaded: "
                              "ERROR (blocks downstream) when unusable, WARN when values "
                              "look wrong")]
        if source.name == "email" and not partitioned:
            specs.append(dg.AssetCheckSpec(
                RECONCILIATION, asset=key, description="Every message of each IMAP folder "
                "on the server is loaded or quarantined"))
    return specs


def _ingest_asset(source: Source, partitioned: bool = False) -> dg.AssetsDefinition:
    make_key = drop_key if partitioned else raw_key
    keys = {entity: make_key(source.name, entity) for entity in source.entities}
    where = f"{source.folder}/<YYYY-MM-DD>/ drops" if partitioned else source.description
    policy = dg.FreshnessPolicy.time_window(fail_window=source.freshness)

    @dg.multi_asset(
        name=f"ingest_{source.name}" + ("_drops" if partitioned else ""),
        group_name=DROPS_GROUP if partitioned else GROUP,
        partitions_def=DAILY if partitioned else None,
        specs=[dg.AssetSpec(key, description=f"{where}: {entity}, as loaded into "
                            f"raw.{source.name}__{entity}", kinds={"postgres"},
                            skippable=True, freshness_policy=policy)
               for entity, key in keys.items()],
        check_specs=_check_specs(source, keys.values(), partitioned),
        can_subset=False,
    )
    def ingest(context: dg.AssetExecutionContext, database: Database,
               source_files: SourceFiles, hubspot_api: HubSpotApi,
               imap_mailbox: ImapMailbox) -> Iterator:
        def log(batch: RecordBatch, result: LoadResult) -> None:
            context.log.info(f"{batch.entity}: {result.rows_loaded} new, "
                             f"{result.rows_duplicate} already loaded, "
                             f"{result.rows_rejected} quarantined from {batch.origin}")

        engine = database.engine
        folder = source_files.path(source.folder)
        if partitioned:
            folder = folder / context.partition_key
        totals: dict[str, Totals] = {}
        if not partitioned or folder.is_dir():  # a day without a drop reads nothing
            totals = load_batches(engine, source.read(folder, hubspot_api, engine), log)
        reports: list[FolderReport] = []
        account = imap_mailbox.account() if RECONCILIATION in _check_names(context) else None
        if account is not None:
            reports = sync_imap(engine, account, on_batch=log)
            for report in reports:
                totals.setdefault(mail.ENTITY, Totals()).merge(report.totals)
        for entity, key in keys.items():
            yield from _results(context, engine, source.name, entity, key, totals.get(entity))
        if RECONCILIATION in _check_names(context):
            yield _reconciliation(keys[mail.ENTITY], account is not None, reports)

    return ingest


def _check_names(context: dg.AssetExecutionContext) -> set[str]:
    return {k.name for k in context.selected_asset_check_keys}


def _results(context: dg.AssetExecutionContext, engine: sa.Engine, source: str, entity: str,
             key: dg.AssetKey, t: Totals | None) -> Iterator:
    if t is None:  # nothing read: no materialisation, and nothing to flag
        context.log.warning(f"{source}.{entity}: no input found")
        for check in (QUARANTINE, EXPECTATIONS):
            yield dg.AssetCheckResult(asset_key=key, check_name=check, passed=True,
                                      metadata={"rows_in": 0})
        return
    metadata = {"batches": t.batches, "rows_in": t.rows_in, "rows_loaded": t.rows_loaded,
                "rows_duplicate": t.rows_duplicate, "rows_rejected": t.rows_rejected}
    rate = t.rows_rejected / t.rows_in if t.rows_in else 0.0
    yield dg.MaterializeResult(asset_key=key, metadata={**metadata, "reject_rate": rate})
    yield dg.AssetCheckResult(
        asset_key=key, check_name=QUARANTINE, passed=rate <= MAX_REJECT_RATE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"reject_rate": rate, "rows_rejected": t.rows_rejected})
    from orchestration.expectations import validate_batches  # seconds to import: only here

    outcome = validate_batches(engine, source, entity, t.batch_ids)
    yield dg.AssetCheckResult(
        asset_key=key, check_name=EXPECTATIONS, passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.unusable else dg.AssetCheckSeverity.WARN,
        description=None if outcome.passed else "; ".join(
            f"{f['severity']}: {f['expectation']} {f['column'] or ''} "
            f"({f['unexpected'] if f['unexpected'] is not None else 'column missing'})"
            for f in outcome.failures),
        metadata={"rows_checked": outcome.rows,
                  "failures": dg.MetadataValue.json(outcome.failures)})


def _reconciliation(key: dg.AssetKey, configured: bool,
                    reports: list[FolderReport]) -> dg.AssetCheckResult:
    """Passed when every folder's server count equals its loaded plus quarantined."""
    if not configured:
        return dg.AssetCheckResult(asset_key=key, check_name=RECONCILIATION, passed=True,
                                   description="no IMAP mailbox configured "
                                               "(SALESOPS_IMAP_HOST)")
    folders = {r.folder: {"on_server": r.on_server, "loaded": r.loaded,
                          "quarantined": r.quarantined, "missing": len(r.missing),
                          "uidvalidity": r.uidvalidity, "reset": r.reset} for r in reports}
    return dg.AssetCheckResult(
        asset_key=key, check_name=RECONCILIATION, passed=all(r.ok for r in reports),
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(r.describe() for r in reports),
        metadata={"folders": dg.MetadataValue.json(folders),
                  "on_server": sum(r.on_server for r in reports),
                  "loaded": sum(r.loaded for r in reports),
                  "quarantined": sum(r.quarantined for r in reports),
                  "missing": sum(len(r.missing) for r in reports)})


ingest_assets = [_ingest_asset(source) for source in SOURCES]
drop_assets = [_ingest_asset(source, partitioned=True) for source in SOURCES if source.drops]
RAW_KEYS = [raw_key(s.name, e) for s in SOURCES for e in s.entities]
DROP_KEYS = [drop_key(s.name, e) for s in SOURCES if s.drops for e in s.entities]
