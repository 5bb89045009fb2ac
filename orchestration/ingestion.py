"""Ingestion runs in plain Python: what the Dagster assets and `salesops ingest` both call.

A run reads a connector's batches and loads each one through `salesops.loading`; an
incremental source stores its cursor in the same transaction as the batch, so a cursor
never passes what was loaded, and a run that stops half way is continued by the next.
"""

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from connectors import hubspot_api, imap
from connectors.records import CsvBatch, RecordBatch
from salesops.cursors import get_cursor, set_cursor
from salesops.errors import SalesopsError
from salesops.loading import LoadResult, load_batch, load_csv_batches

OnBatch = Callable[[RecordBatch | CsvBatch, LoadResult], None]
IMAP_CURSOR_SOURCE = "imap"


@dataclass
class Totals:
    batches: int = 0
    rows_in: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_rejected: int = 0
    batch_ids: list[uuid.UUID] = field(default_factory=list)

    def add(self, result: LoadResult) -> None:
        self.batches += 1
        self.batch_ids.append(result.batch_id)
        self.rows_in += result.rows_in
        self.rows_loaded += result.rows_loaded
        self.rows_duplicate += result.rows_duplicate
        self.rows_rejected += result.rows_rejected

    def merge(self, other: "Totals") -> None:
        self.batches += other.batches
        self.rows_in += other.rows_in
        self.rows_loaded += other.rows_loaded
        self.rows_duplicate += other.rows_duplicate
        self.rows_rejected += other.rows_rejected
        self.batch_ids += other.batch_ids


def load_batches(engine: sa.Engine, batches: Iterable[RecordBatch | CsvBatch],
                 on_batch: OnBatch | None = None) -> dict[str, Totals]:
    """Load every batch (one transaction each); the totals per entity.

    A batch that carries a cursor (`hubspot_api.HubSpotBatch`) stores it in its own
    transaction; one without rows only stores its cursor. CSV rows as bytes (`CsvBatch`)
    are parsed by PostgreSQL in bulk, a run of them pipelined (`load_csv_batches`: the next
    batch's COPY while the last one's raw rows are written).
    """
    totals: dict[str, Totals] = {}
    for is_csv, run in itertools.groupby(batches, key=lambda b: isinstance(b, CsvBatch)):
        for batch, result in _loaded(engine, is_csv, run):
            totals.setdefault(batch.entity, Totals()).add(result)
            if on_batch:
                on_batch(batch, result)
    return totals


def _loaded(engine: sa.Engine, is_csv: bool, run: Iterable[RecordBatch | CsvBatch]
            ) -> Iterator[tuple[RecordBatch | CsvBatch, LoadResult]]:
    if is_csv:
        yield from load_csv_batches(engine, (b for b in run if len(b)))
        return
    for batch in run:
        if (result := _load_records(engine, batch)) is not None:  # type: ignore[arg-type]
            yield batch, result


def _load_records(engine: sa.Engine, batch: RecordBatch) -> LoadResult | None:
    """One batch of records with its cursor, if it has one; None when it has no rows."""
    cursor = getattr(batch, "cursor", None)
    entity = getattr(batch, "cursor_entity", "")

    def store(conn: sa.Connection, _: object) -> None:
        set_cursor(conn, batch.source, entity, cursor)

    if not len(batch):
        if cursor is not None:
            with engine.begin() as conn:
                store(conn, None)
        return None
    return load_batch(engine, batch.source, batch.entity, batch.origin, batch.records,
                      batch.rejects, after=store if cursor is not None else None)


def hubspot_cursors(engine: sa.Engine) -> dict[str, dict | None]:
    """The stored cursor of each HubSpot object type (None: never read)."""
    types = ("contacts", "companies", "deals", *hubspot_api.ENGAGEMENT_TYPES)
    return {t: get_cursor(engine, hubspot_api.SOURCE, t) for t in types}


def sync_hubspot(engine: sa.Engine, client: hubspot_api.HubSpotClient,
                 entities: tuple[str, ...] = hubspot_api.ENTITIES,
                 since: date | None = None, on_batch: OnBatch | None = None,
                 ) -> dict[str, Totals]:
    """Read HubSpot from the stored cursors (or from `since`) and load it."""
    cursors = hubspot_cursors(engine)
    if since is not None:
        ms = int(datetime.combine(since, time(), UTC).timestamp() * 1000)
        cursors = dict.fromkeys(cursors, {"modified_ms": ms})
    return load_batches(engine, hubspot_api.read(client, cursors, entities), on_batch)


@dataclass
class FolderReport:
    """One folder reconciled: every UID on the server is loaded or quarantined, or missing."""

    folder: str
    uidvalidity: int
    on_server: int
    loaded: int
    quarantined: int
    missing: list[int] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    reset: bool = False  # the server changed the folder's UIDVALIDITY: read from the start

    @property
    def ok(self) -> bool:
        return not self.missing

    def describe(self) -> str:
        text = (f"{self.folder}: {self.on_server} on the server, {self.loaded} loaded, "
                f"{self.quarantined} quarantined")
        if self.missing:
            shown = ", ".join(map(str, self.missing[:10]))
            more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
            text += (f"; {len(self.missing)} NOT LOADED (UIDs {shown}{more}): "
                     "run again with --full to load them")
        return text


def imap_cursor_entity(account: imap.ImapAccount, folder: str) -> str:
    return f"{account.name}/{folder}"


def sync_imap(engine: sa.Engine, account: imap.ImapAccount, since: date | None = None,
              full: bool = False, chunk_size: int = imap.IMAP_CHUNK,
              on_batch: OnBatch | None = None) -> list[FolderReport]:
    """Load the new messages of each of the account's folders, then reconcile each folder.

    `since` reads only messages from that date on (and so leaves older ones unloaded: the
    reconciliation says so); `full` ignores the cursors. A lost connection raises
    `imap.ImapConnectionLost` after keeping every batch that landed.
    """
    reports = []
    box = imap.connect(account)
    try:
        for folder in account.folders:
            listing = imap.list_folder(box, folder, since)
            entity = imap_cursor_entity(account, folder)
            cursor = None if full else imap.FolderCursor.from_json(
                get_cursor(engine, IMAP_CURSOR_SOURCE, entity))
            totals = Totals()

            for batch in imap.read_folder(box, account.name, listing, cursor, chunk_size):
                result = load_batch(engine, batch.source, batch.entity, batch.origin,
                                    batch.records, batch.rejects,
                                    after=lambda conn, _, c=batch.folder_cursor, e=entity:
                                    set_cursor(conn, IMAP_CURSOR_SOURCE, e, c.to_json()))
                totals.add(result)
                if on_batch:
                    on_batch(batch, result)
            # A listing since a date may lack the newest UIDs the cursor already has.
            everything = listing if since is None else imap.list_folder(box, folder)
            report = reconcile(engine, account, everything)
            report.totals = totals
            report.reset = bool(cursor and cursor.uidvalidity != listing.uidvalidity)
            reports.append(report)
    finally:
        with suppress(Exception):  # the connection may already be gone
            box.logout()
    return reports


def reconcile(engine: sa.Engine, account: imap.ImapAccount,
              listing: imap.FolderListing) -> FolderReport:
    """Compare the server's UIDs with what `raw` and the quarantine hold for the folder."""
    params = {"a": account.name, "f": listing.folder, "v": listing.uidvalidity}
    where = ("{col}->'imap'->>'account' = :a and {col}->'imap'->>'folder' = :f "
             "and ({col}->'imap'->>'uidvalidity')::bigint = :v")
    with engine.connect() as conn:
        loaded = set(conn.execute(sa.text(
            "select distinct (record->'imap'->>'uid')::bigint from raw.email__messages "
            "where " + where.format(col="record")), params).scalars())
        quarantined = set(conn.execute(sa.text(
            "select distinct (record->'imap'->>'uid')::bigint from ops.rejected_rows "
            "where source = 'email' and entity = 'messages' and "
            + where.format(col="record")), params).scalars())
    server = set(listing.uids)
    return FolderReport(listing.folder, listing.uidvalidity, len(server),
                        len(server & loaded), len(server & (quarantined - loaded)),
                        sorted(server - loaded - quarantined))


def drop_days(root: Path, start: date, end: date) -> list[tuple[date, Path | None]]:
    """Each day from `start` to `end` with its drop folder `<root>/<YYYY-MM-DD>` (None when
    nothing was dropped that day): what a backfill of the range reads. The folder name is
    the day's Dagster partition key."""
    if end < start:
        raise SalesopsError(f"the range ends ({end}) before it starts ({start})")
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [(day, folder if (folder := root / day.isoformat()).is_dir() else None)
            for day in days]
