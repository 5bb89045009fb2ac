"""Shared fixtures: a real PostgreSQL and Redis for the whole test session.

Embedded servers by default; `TEST_DATABASE_URL` / `TEST_REDIS_URL` point at real ones.
Each session gets a fresh database, migrated to head.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from salesops import migrate
from salesops.db import ensure_database, get_engine, sqlalchemy_url

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: Tables holding test data; truncated between tests that ask for a clean database.
_DATA_SCHEMAS = ("app", "ops", "raw", "ml")

#: The test process's data folder (see pytest_configure).
_DATA_DIR = pytest.StashKey[str]()

#: The modules that take longest (seconds of one worker, setup included, from a
#: `--durations=0` run: docs/benchmarks.md, "Test suite time"), longest first. With
#: `--dist loadfile` a module is one worker's, and xdist hands modules out in collection
#: order (pyproject: `--no-loadscope-reorder`): starting the longest ones first lets both
#: workers finish together, instead of a ten-minute module starting last.
LONGEST_FIRST = (
    "cli/test_up.py",  # 612 s: `salesops up`, the whole platform
    "orchestration/test_thin_path.py",  # 374 s: the whole pipeline in-process
    "ml/test_forecasting.py",  # 297 s
    "dbt_project/test_dbt_bad_input.py",  # 195 s: two dbt builds
    "dbt_project/test_sqlfluff.py",  # 183 s
    "ml/test_sentiment.py",  # 172 s
    "ml/test_lead_scoring.py",  # 148 s
    "automations/test_campaigns.py",  # 124 s
    "dashboards/test_dashboard_pages.py",  # 123 s
    "api/test_openapi_fuzz.py",  # 119 s
    "dbt_project/test_dbt_build.py",  # 119 s
    "orchestration/test_source_freshness.py",  # 119 s
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The modules of LONGEST_FIRST first, in its order; every other module after them in
    collection order (a stable sort keeps each module's tests in their order)."""
    tests = Path(__file__).parent
    if missing := [m for m in LONGEST_FIRST if not (tests / m).is_file()]:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names {missing}, which do "
                                "not exist: rename or remove them there.")
    rank = {str(tests / module): i for i, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(str(item.path), len(rank)))


def pytest_configure(config: pytest.Config) -> None:
    """Each test process gets a data folder of its own (secret key, field keys, MLflow
    artifacts), not the repository's .salesops: parallel workers never share one."""
    data_dir = tempfile.mkdtemp(prefix="salesops-tests-")
    config.stash[_DATA_DIR] = data_dir
    os.environ["SALESOPS_DATA_DIR"] = data_dir


def pytest_unconfigure(config: pytest.Config) -> None:
    if data_dir := config.stash.get(_DATA_DIR, None):
        shutil.rmtree(data_dir, ignore_errors=True)


#: What the person running the tests set, if anything.
_MLFLOW_URI = os.environ.get("MLFLOW_TRACKING_URI")


@pytest.fixture(autouse=True)
def _no_leaked_mlflow_store() -> Iterator[None]:
    """`mlflow.set_tracking_uri` exports MLFLOW_TRACKING_URI (for subprocesses), which
    salesops' settings read as the user's override: one test's store must not become the
    store of a later test that reloads the settings."""
    yield
    if os.environ.get("MLFLOW_TRACKING_URI") != _MLFLOW_URI:
        if _MLFLOW_URI is None:
            del os.environ["MLFLOW_TRACKING_URI"]
        else:
            os.environ["MLFLOW_TRACKING_URI"] = _MLFLOW_URI
        from salesops.settings import get_settings

        get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A URL of a database on the test server (not the one the tests write to)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        return url
    from salesops.embedded import start_postgres

    return start_postgres(tmp_path_factory.mktemp("pg"))


def fresh_database(server_url: str, prefix: str = "salesops_test") -> str:
    """A new database on the test server, migrated to head."""
    url = ensure_database(server_url, f"{prefix}_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    return url


def drop_database(server_url: str, url: str) -> None:
    get_engine(url).dispose()
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator:
    """A factory of fresh migrated databases, all dropped at the end of the session."""
    made: list[str] = []

    def make(prefix: str = "salesops_test") -> str:
        made.append(fresh_database(pg_server_url, prefix))
        return made[-1]

    yield make
    for url in made:
        drop_database(pg_server_url, url)


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    """The test session's database, migrated to head."""
    return make_database()


@pytest.fixture(scope="session")
def engine(database_url: str) -> sa.Engine:
    return get_engine(database_url)


def empty_data_tables(engine: sa.Engine) -> None:
    """Empty every data table (schema kept)."""
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "select format('%I.%I', schemaname, tablename) from pg_tables "
            "where schemaname = any(:schemas) and tablename <> 'alembic_version'"),
            {"schemas": list(_DATA_SCHEMAS)}).scalars().all()
        if tables:
            conn.execute(sa.text(f"truncate {', '.join(tables)} restart identity cascade"))


@pytest.fixture
def clean_db(engine: sa.Engine) -> sa.Engine:
    """The test database with every data table emptied (schema kept)."""
    empty_data_tables(engine)
    return engine


@pytest.fixture(scope="session")
def truncate_data(engine: sa.Engine):
    """What clean_db does, callable from module-scoped fixtures (clean_db is per test)."""
    return lambda: empty_data_tables(engine)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if url := os.environ.get("TEST_REDIS_URL"):
        return url
    from salesops.embedded import start_redis

    return start_redis(tmp_path_factory.mktemp("redis"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip saying it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED_DATA} (see DESIGN.md)")
    return SHARED_DATA


#: dbt's vars in every test that runs it (the same vars keep dbt's partial parse valid): a
#: fixed reference time for ages and durations in fct_deals.
DBT_VARS = ["--vars", json.dumps({"as_of": "2025-06-01 00:00:00+00"})]


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder for the session, so that every dbt call after the first reuses
    its parse (dbt's partial parsing)."""
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="session")
def dbt_vars() -> list[str]:
    return DBT_VARS
