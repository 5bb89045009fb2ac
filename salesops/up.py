"""`salesops up`: servers, migrations, demo data and one run of the whole pipeline on the
first start, then the four UIs until Ctrl-C. A second start reuses the data folder."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import Progress

from salesops import __version__, migrate
from salesops.db import describe
from salesops.errors import SalesopsError
from salesops.runtime import Servers
from salesops.services import check_ports_free, environment, services
from salesops.settings import Settings
from salesops.supervisor import Supervisor, UpLock, stop_on_signals

DEMO_ADMIN = "admin@salesops.demo"


def run_up(settings: Settings, console: Console, progress: Callable[[], Progress]) -> None:
    from salesops.runtime import start

    started = time.monotonic()
    stop_on_signals()
    data_dir = settings.data_path
    lock = UpLock(data_dir)
    lock.acquire()
    try:
        with console.status("Starting PostgreSQL and Redis..."):
            servers = start(settings)
        wanted = services(settings, servers)
        check_ports_free(settings.host, wanted)
        console.print(f"database {describe(servers.database_url)}"
                      f"{' (embedded)' if servers.embedded_database else ''}")
        with console.status("Applying migrations..."):
            migrate.upgrade(servers.database_url)
        env = environment(settings, servers)
        marker = data_dir / "bootstrapped"
        if not marker.exists():
            bootstrap(settings, servers, env, console, progress)
            marker.write_text(__version__ + "\n")
        supervisor = Supervisor(data_dir, settings.host, env)
        try:
            for service in wanted:
                supervisor.start(service)
            with console.status("Waiting for the services to answer..."):
                supervisor.wait_healthy(timeout=180, on_ready=lambda s: console.print(
                    f"  [green]ready[/] {s.title}"))
            supervisor.write_state(describe(servers.database_url), servers.redis_url)
            console.print(f"\nsalesops is up in {time.monotonic() - started:.0f} s:")
            for service in wanted:
                console.print(f"  {service.title:<34} {service.url(settings.host)}")
            credentials = data_dir / "demo_credentials.txt"
            if credentials.exists():
                console.print(f"  demo login: {credentials.read_text().strip()}")
            console.print("Ctrl-C stops everything.")
            exited = supervisor.watch()
            if exited:
                raise SalesopsError(f"The {exited.service.title} stopped unexpectedly (code "
                                    f"{exited.process.returncode}); see {exited.log}.")
        except KeyboardInterrupt:
            console.print("\nStopping...")
        finally:
            supervisor.stop()
    finally:
        lock.release()


def bootstrap(settings: Settings, servers: Servers, env: dict[str, str], console: Console,
              progress: Callable[[], Progress]) -> None:
    """First start only: demo data, demo users, and every Dagster asset materialised once."""
    from salesops.demo import generate

    manifest = settings.demo_path / "manifest.json"
    with progress() as bar:
        tasks: dict[str, int] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(f"demo data: {step}", total=total)
            bar.update(tasks[step], completed=done, total=total)

        if not manifest.exists():
            generate(settings.demo_path, scale=settings.demo_scale, seed=settings.demo_seed,
                     progress=report)
    create_demo_users(settings, servers)
    materialize_all(env, console, progress)
    seed_demo_targets(servers)


def create_demo_users(settings: Settings, servers: Servers) -> None:
    """An admin for the demo; its password is generated, never committed."""
    from sqlalchemy.orm import Session

    from salesops.db import get_engine
    from salesops.domain.users import create_user, ensure_roles
    from salesops.models import User

    credentials = settings.data_path / "demo_credentials.txt"
    with Session(get_engine(servers.database_url)) as session, session.begin():
        ensure_roles(session)
        if session.query(User).filter_by(email=DEMO_ADMIN).first():
            return
        password = secrets.token_urlsafe(12)
        create_user(session, email=DEMO_ADMIN, full_name="Demo Admin", password=password,
                    role="admin")
    credentials.touch(mode=0o600)
    credentials.write_text(f"{DEMO_ADMIN} / {password}\n")


def seed_demo_targets(servers: Servers) -> None:
    """Bookings targets for the demo's teams and reps (from their past bookings, set by the
    demo admin), then the targets mart rebuilt so the dashboards show them at once."""
    from datetime import date

    from sqlalchemy.orm import Session

    from salesops.db import get_engine
    from salesops.domain import targets
    from salesops.domain.audit import Actor
    from salesops.domain.users import get_principal
    from salesops.models import User
    from salesops.warehouse import run_dbt

    with Session(get_engine(servers.database_url)) as session, session.begin():
        admin = session.query(User).filter_by(email=DEMO_ADMIN).one()
        set_count = targets.seed_from_bookings(session, Actor(get_principal(session, admin.id)),
                                               through=date.today())
    if set_count:
        run_dbt(["run", "--select", "+sales_targets"], servers.database_url)


def materialize_all(env: dict[str, str], console: Console,
                    progress: Callable[[], Progress]) -> None:
    """Run every asset once through Dagster (so the runs show in its UI), with progress."""
    cmd = [sys.executable, "-m", "orchestration.materialize"]
    log = []
    with progress() as bar:
        task = bar.add_task("pipeline: ingest -> merge -> dbt -> ml", total=None)
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.append(line)
                if line.startswith("PROGRESS "):
                    _, done, total, name = line.rstrip("\n").split(" ", 3)
                    bar.update(task, completed=int(done), total=int(total),
                               description=f"pipeline: {name}")
    if proc.returncode != 0:
        tail = "".join(log[-20:])
        raise SalesopsError(f"The first pipeline run failed:\n{tail}\nFix the cause and run "
                            "`salesops up` again; it resumes from the data already loaded.")
