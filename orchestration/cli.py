"""`salesops ingest <source>` and `salesops ingest rejects list|replay`: a command group the
core command line finds through the `salesops.commands` entry point.

Each source command loads batch by batch with a live count; the same runs back the
Dagster assets. Secrets come from the environment (IMAP_PASSWORD), never a flag.
"""

import os
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from salesops.errors import SalesopsError

if TYPE_CHECKING:  # every `salesops` call loads this module: keep its imports light
    from connectors.records import RecordBatch
    from salesops.loading import LoadResult

app = typer.Typer(help="Load sources into raw, and fix what was quarantined.",
                  no_args_is_help=True)
rejects_app = typer.Typer(help="Quarantined rows: list, export to fix, replay.",
                          no_args_is_help=True)
app.add_typer(rejects_app, name="rejects")
console = Console(stderr=True)

PathOpt = Annotated[Path, typer.Option("--path", help="File or folder to read; with --from, "
                                       "the folder of the daily drops (<YYYY-MM-DD>/).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Backfill: the first day "
                                             "(YYYY-MM-DD) whose drop folder to load.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Backfill: the last day (default: "
                                           "the --from day).")]


def _engine():
    from salesops import migrate
    from salesops.db import get_engine
    from salesops.runtime import resolve_database
    from salesops.settings import get_settings

    url = resolve_database(get_settings())[0]
    if migrate.current(url) != migrate.head():
        raise SalesopsError("The database is not at the latest migration: run "
                            "`salesops db migrate` first.")
    return get_engine(url)


def _existing(path: Path) -> Path:
    if not path.exists():
        raise SalesopsError(f"no such file or folder: {path}")
    return path


def _since(value: str | None, option: str = "--since") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SalesopsError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def _days(path: Path, start: str | None, end: str | None) -> list[Path] | None:
    """The drop folders of --from .. --to under `path` (None: no range asked), saying which
    days had no drop."""
    if start is None:
        if end is not None:
            raise SalesopsError("--to needs --from: the first day of the range")
        return None
    from orchestration.ingestion import drop_days

    first = _since(start, "--from")
    days = drop_days(_existing(path), first, _since(end, "--to") or first)
    empty = [day.isoformat() for day, folder in days if folder is None]
    if empty:
        shown = ", ".join(empty[:10]) + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
        typer.echo(f"no drop folder for {len(empty)} of {len(days)} days: {shown}")
    return [folder for _, folder in days if folder is not None]


def _files(path: Path, start: str | None, end: str | None) -> list[Path]:
    """What a file command reads: `path`, or the day folders of the range under it."""
    days = _days(path, start, end)
    return [_existing(path)] if days is None else days


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"),
                    TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                    console=console, transient=False)


class _Report:
    """Live progress per entity, then one summary line each."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, int] = {}
        self.totals: dict[str, list[int]] = {}

    def __call__(self, batch: "RecordBatch", result: "LoadResult") -> None:
        name = f"{batch.source}.{batch.entity}"
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(name, total=None)
            self.totals[name] = [0, 0, 0]
        self.bar.advance(self.tasks[name], result.rows_in)
        t = self.totals[name]
        t[0] += result.rows_loaded
        t[1] += result.rows_duplicate
        t[2] += result.rows_rejected

    def summary(self) -> None:
        if not self.totals:
            typer.echo("nothing to load")
        for name, (loaded, duplicate, rejected) in self.totals.items():
            hint = "  (see `salesops ingest rejects list`)" if rejected else ""
            typer.echo(f"{name}: {loaded:,} new, {duplicate:,} already loaded, "
                       f"{rejected:,} quarantined{hint}")


def _run(batches: Iterable["RecordBatch"]) -> None:
    from orchestration.ingestion import load_batches

    engine = _engine()
    with _progress() as bar:
        report = _Report(bar)
        load_batches(engine, batches, report)
    report.summary()


@app.command()
def salesforce(path: PathOpt, start: FromOpt = None, end: ToOpt = None) -> None:
    """A Salesforce weekly data export: a folder or .zip of CSV files."""
    from connectors.salesforce_export import read_export

    _run(batch for folder in _files(path, start, end) for batch in read_export(folder))


@app.command()
def hubspot(
    since: Annotated[str | None, typer.Option(help="Objects modified from this date "
                                              "(YYYY-MM-DD); default: from the cursors.")] = None,
    entity: Annotated[list[str] | None, typer.Option(help="contacts, companies, deals, "
                                                     "engagements, owners or pipelines; "
                                                     "repeat for more (default all).")] = None,
) -> None:
    """HubSpot CRM API v3, incrementally. The token comes from HUBSPOT_TOKEN."""
    from connectors.hubspot_api import BASE_URL, ENTITIES, HubSpotClient
    from orchestration.ingestion import sync_hubspot

    token = os.environ.get("HUBSPOT_TOKEN")
    if not token:
        raise SalesopsError("set HUBSPOT_TOKEN to a HubSpot private app token (it is never a "
                            "flag)")
    unknown = sorted(set(entity or ()) - set(ENTITIES))
    if unknown:
        raise SalesopsError(f"unknown HubSpot entity {unknown[0]!r}: use {', '.join(ENTITIES)}")
    client = HubSpotClient(token, os.environ.get("HUBSPOT_BASE_URL", BASE_URL))
    start = _since(since)
    engine = _engine()
    try:
        with _progress() as bar:
            report = _Report(bar)
            sync_hubspot(engine, client, tuple(entity or ENTITIES), start, report)
    finally:
        client.close()
    report.summary()


@app.command("hubspot-files")
def hubspot_files(path: PathOpt) -> None:
    """HubSpot API v3 list responses saved as files (<object>/page-0001.json)."""
    from connectors.hubspot_files import read_folder

    _run(read_folder(_existing(path)))


@app.command()
def email(path: PathOpt, start: FromOpt = None, end: ToOpt = None) -> None:
    """An mbox file, a Maildir, a .eml file, or a folder of these."""
    from connectors.mail import read_mail

    _run(batch for folder in _files(path, start, end) for batch in read_mail(folder))


@app.command()
def webforms(
    path: Annotated[Path, typer.Option("--file", "--path", help="A CSV or JSON-lines export "
                                       "of past submissions, or a folder of them; with "
                                       "--from, the folder of the daily drops.")],
    start: FromOpt = None, end: ToOpt = None,
) -> None:
    """Past web-form submissions through the live form's lead capture: contact matched by
    e-mail, consent kept with its text and time, one lead per submission id (a re-run
    changes nothing); unreadable rows are quarantined with their line numbers."""
    from orchestration.webform_backfill import backfill_webforms

    engine = _engine()
    with _progress() as bar:
        task = bar.add_task("webforms.submissions", total=None)
        results = [backfill_webforms(engine, folder, lambda n: bar.advance(task, n))
                   for folder in _files(path, start, end)]
    total = {k: sum(getattr(r, k) for r in results)
             for k in ("rows", "new_in_raw", "leads_created", "leads_updated", "unchanged",
                       "ignored_honeypot", "quarantined")}
    hint = "  (see `salesops ingest rejects list`)" if total["quarantined"] else ""
    typer.echo(f"webforms.submissions: {total['rows']:,} rows, {total['new_in_raw']:,} new in "
               f"raw; leads {total['leads_created']:,} created, {total['leads_updated']:,} "
               f"updated, {total['unchanged']:,} unchanged; {total['ignored_honeypot']:,} "
               f"honeypot ignored, {total['quarantined']:,} quarantined{hint}")


@app.command()
def touchpoints(path: PathOpt, start: FromOpt = None, end: ToOpt = None) -> None:
    """Sessions, ad clicks, email opens and clicks (JSON lines)."""
    from connectors.touchpoints import read_events

    _run(batch for folder in _files(path, start, end) for batch in read_events(folder))


@app.command()
def mapped(path: PathOpt,
           mapping: Annotated[Path, typer.Option(help="The YAML column mapping.")]) -> None:
    """Any other CRM's CSV or XLSX export, through a YAML column mapping."""
    from connectors.mapped_file import read_mapped

    _run(read_mapped(_existing(path), _existing(mapping)))


@app.command()
def imap(
    host: Annotated[str | None, typer.Option(help="IMAP server (default "
                                             "SALESOPS_IMAP_HOST).")] = None,
    user: Annotated[str | None, typer.Option(help="Login name (default "
                                             "SALESOPS_IMAP_USER).")] = None,
    folder: Annotated[list[str] | None, typer.Option(help="Folder to read; repeat for more "
                                                     "(default SALESOPS_IMAP_FOLDERS, "
                                                     "else INBOX).")] = None,
    port: Annotated[int | None, typer.Option(help="993 for ssl, else 143.")] = None,
    security: Annotated[str | None, typer.Option(help="ssl, starttls or plain (default "
                                                 "SALESOPS_IMAP_SECURITY, else ssl).")] = None,
    since: Annotated[str | None, typer.Option(help="Only messages from this date "
                                              "(YYYY-MM-DD).")] = None,
    full: Annotated[bool, typer.Option(help="Ignore the cursors: read every message "
                                       "again (nothing is loaded twice).")] = False,
) -> None:
    """A mailbox over IMAP: new messages of each folder, then a reconciliation per folder.
    The password comes from IMAP_PASSWORD; the rest from the options or, as the Dagster
    asset reads them, SALESOPS_IMAP_*."""
    from orchestration.ingestion import sync_imap
    from orchestration.resources import ImapMailbox, imap_mailbox
    from salesops.settings import get_settings

    configured = imap_mailbox(get_settings())
    mailbox = ImapMailbox(host=host or configured.host, user=user or configured.user,
                          port=port or configured.port,
                          security=security or configured.security,
                          folders=folder or configured.folders)
    if not mailbox.host or not mailbox.user:
        raise SalesopsError("say which mailbox: --host and --user (or SALESOPS_IMAP_HOST and "
                            "SALESOPS_IMAP_USER)")
    if not os.environ.get(mailbox.password_env):
        raise SalesopsError("set IMAP_PASSWORD to the mailbox password (it is never a flag)")
    account = mailbox.account()
    engine = _engine()
    with _progress() as bar:
        report = _Report(bar)
        folders = sync_imap(engine, account, since=_since(since), full=full, on_batch=report)
    report.summary()
    for item in folders:
        if item.reset:
            typer.echo(f"{item.folder}: the server renumbered the folder (new UIDVALIDITY); "
                       "it was read again")
        typer.echo(("" if item.ok else "WARNING ") + item.describe())


def _batch(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise SalesopsError(f"--batch {value!r} is not a batch id (a UUID, as `rejects list` "
                            "shows)") from None


@rejects_app.command("list")
def rejects_list(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    batch: Annotated[str | None, typer.Option(help="Only this batch id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many on screen.")] = 50,
    out: Annotated[Path | None, typer.Option(help="Write them all to this CSV, to fix and "
                                             "replay with --from-file.")] = None,
) -> None:
    """Quarantined rows that are still open, oldest first."""
    from salesops.rejects import list_rejects, write_csv

    engine = _engine()
    if out is not None:
        rows = list_rejects(engine, source, _batch(batch), include_resolved=all_)
        with out.open("w", encoding="utf-8", newline="") as stream:
            count = write_csv(rows, stream)
        typer.echo(f"wrote {count:,} rejects to {out}: fix them there, then "
                   f"`salesops ingest rejects replay --from-file {out}`")
        return
    rows = list_rejects(engine, source, _batch(batch), include_resolved=all_, limit=limit + 1)
    if not rows:
        typer.echo("no open rejects" + (" for these filters" if source or batch else ""))
        return
    for r in rows[:limit]:
        state = f" resolved {r.resolved_at:%Y-%m-%d}" if r.resolved_at else ""
        typer.echo(f"{r.id:>7}  {r.rejected_at:%Y-%m-%d %H:%M}  {r.source}.{r.entity}  "
                   f"[{r.stage}] batch {r.batch_id}  key {r.source_key or '-'}{state}\n"
                   f"         {_short(r.reason)}")
    if len(rows) > limit:
        typer.echo("... more: raise --limit, or write them all with --out FILE.csv")


def _short(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


@rejects_app.command("replay")
def rejects_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Reject ids to replay.")] = None,
    batch: Annotated[str | None, typer.Option(help="Every open reject of this batch.")] = None,
    from_file: Annotated[Path | None, typer.Option(help="The fixed CSV (from `rejects list "
                                                   "--out`); replays its rows.")] = None,
) -> None:
    """Load the fixed rows (or the stored ones, once their cause is fixed) in a new batch
    and mark their rejects resolved."""
    from orchestration.replay import replay_rejects
    from salesops.rejects import list_rejects, read_fixed_csv

    fixed = read_fixed_csv(_existing(from_file)) if from_file else None
    wanted = sorted(set(ids or []) | set(fixed or {}))
    if not wanted and batch is None:
        raise SalesopsError("say what to replay: reject ids, --batch ID or --from-file FILE")
    engine = _engine()
    rows = list_rejects(engine, batch=_batch(batch), ids=wanted)
    missing = sorted(set(wanted) - {r.id for r in rows})
    if missing:
        raise SalesopsError(f"no open reject with id {', '.join(map(str, missing[:10]))}: "
                            "see `salesops ingest rejects list`")
    if not rows:
        raise SalesopsError(f"batch {batch} has no open rejects")
    if fixed is not None:
        fixed = {r.id: fixed.get(r.id, r.record or {}) for r in rows}
    for done in replay_rejects(engine, rows, fixed):
        still = done.asked - done.resolved
        note = (f"; {still} unchanged from what was loaded before: fix them and replay again"
                if still else "")
        typer.echo(f"{done.source}.{done.entity}: replayed {done.asked} in batch "
                   f"{done.result.batch_id}: {done.result.rows_loaded} loaded, "
                   f"{done.resolved} resolved{note}")

