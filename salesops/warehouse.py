"""Running the dbt project (dbt_project/) against a salesops database.

dbt reads its connection from environment variables (dbt_project/profiles.yml); `dbt_env`
builds them from a database URL, so the same URL that the rest of salesops uses drives dbt,
whether in-process (`run_dbt`) or from Dagster through dagster-dbt.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from salesops.db import connection_parts
from salesops.errors import SalesopsError

#: The dbt project (and its profiles.yml), at the root of the repository.
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

#: Statuses of a dbt node result that mean the run failed (models, tests, unit tests).
_FAILED = frozenset({"error", "fail", "runtime error"})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# dbt keeps process-wide state (flags, adapters, the environment it reads): one run at a time.
_lock = threading.Lock()


def dbt_env(database_url: str) -> dict[str, str]:
    """The environment variables dbt_project/profiles.yml reads, for `database_url`.

    SALESOPS_DBT_HOST, _PORT, _USER, _PASSWORD and _DBNAME; _SSLMODE when the URL names one;
    and PGTZ=UTC so that dbt's sessions work in UTC.
    """
    from sqlalchemy.engine import make_url

    parts = connection_parts(database_url)
    env = {
        "SALESOPS_DBT_HOST": str(parts["host"]),
        "SALESOPS_DBT_PORT": str(parts["port"]),
        "SALESOPS_DBT_USER": str(parts["user"]),
        "SALESOPS_DBT_PASSWORD": str(parts["password"] or ""),
        "SALESOPS_DBT_DBNAME": str(parts["dbname"]),
        # libpq sets each session's time zone from PGTZ: dates cut from timestamps (e.g. a
        # conversion's day) are UTC days whatever the server's default, as in the merge step
        "PGTZ": "UTC",
    }
    sslmode = make_url(database_url).query.get("sslmode")
    if sslmode:
        env["SALESOPS_DBT_SSLMODE"] = sslmode if isinstance(sslmode, str) else sslmode[0]
    return env


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(args: list[str], database_url: str, *, target_path: Path | None = None,
            quiet: bool = False) -> None:
    """Run a dbt command (e.g. ["build"], ["run", "--select", "marts"]) in-process.

    `target_path` keeps dbt's artifacts and logs somewhere other than dbt_project/target and
    dbt_project/logs (tests use it so that parallel runs do not share partial-parse state).
    Raises SalesopsError naming the failing nodes when any model, test or unit test fails.
    """
    from dbt.cli.main import dbtRunner

    cli_args = [*args, "--project-dir", str(DBT_PROJECT_DIR),
                "--profiles-dir", str(DBT_PROJECT_DIR)]
    if quiet:
        cli_args = ["--quiet", *cli_args]
    env = dbt_env(database_url)
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    if target_path is not None:  # as variables: not every dbt command takes the options
        env["DBT_TARGET_PATH"] = str(target_path)
        env["DBT_LOG_PATH"] = str(Path(target_path) / "logs")
    with _lock, _environment(env):
        result = dbtRunner().invoke(cli_args)

    command = "dbt " + " ".join(args)
    if result.exception is not None:
        raise SalesopsError(f"{command} could not run: {result.exception}") from result.exception
    if result.success:
        return
    node_results = getattr(result.result, "results", None) or []
    failed = []
    for node_result in node_results:
        status = str(getattr(node_result.status, "value", node_result.status))
        if status in _FAILED:
            node = getattr(node_result, "node", None)
            name = getattr(node, "unique_id", None) or str(node)
            message = _ANSI.sub("", node_result.message or "").strip().splitlines()
            if not message and hasattr(node_result, "max_loaded_at"):  # source freshness
                loaded = node_result.max_loaded_at
                message = ["stale, " + (f"last loaded {loaded}" if loaded and loaded.year > 1
                                        else "never loaded")]
            failed.append(f"{name} ({status}{': ' + message[0] if message else ''})")
    if failed:
        raise SalesopsError(f"{command} failed on {len(failed)} node(s): " + "; ".join(failed))
    raise SalesopsError(f"{command} failed; see the dbt log above for why")


def mart_statements(name: str) -> list[str]:
    """The SQL that builds the marts model `name` without dbt: `create table marts.<name>`
    from the model's own SQL, then the indexes its config declares.

    For fixtures and benchmarks that make the marts a model reads by hand and want the
    model on top of them exactly as dbt builds it, without a dbt run (seconds of parsing).
    `ref()` resolves to the marts schema, so this serves models that read marts only; any
    other Jinja in the model is an error.
    """
    import jinja2

    paths = list((DBT_PROJECT_DIR / "models" / "marts").rglob(f"{name}.sql"))
    if len(paths) != 1:
        raise SalesopsError(f"no single marts model named {name!r} in {DBT_PROJECT_DIR}")
    indexes: list[dict] = []

    def config(**options) -> str:
        indexes.extend(options.get("indexes", []))
        return ""

    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        paths[0].read_text())
    select = template.render(config=config, ref=lambda model: f"marts.{model}")
    return [f"create table marts.{name} as {select}"] + [
        f"create {'unique ' if index.get('unique') else ''}index on marts.{name} "
        f"using {index.get('type', 'btree')} ({', '.join(index['columns'])})"
        for index in indexes]
