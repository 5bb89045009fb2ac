"""A scratch database for one benchmark run, migrated, and dropped afterwards.

The embedded server in the run's temporary folder, or the server in DATABASE_URL (a fresh
database on it), so a benchmark never touches real data.
"""

from __future__ import annotations

import os
import resource
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from salesops import migrate
from salesops.db import ensure_database, sqlalchemy_url


@contextmanager
def scratch_database(workdir: Path, prefix: str, keep: bool = False) -> Iterator[str]:
    """Yield the URL of a new, migrated database; drop it on the way out unless `keep` (on
    the server of DATABASE_URL only: the embedded one goes with its temporary folder)."""
    if not (server_url := os.environ.get("DATABASE_URL")):
        from salesops.embedded import start_postgres

        server_url = start_postgres(workdir / "pg")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        if keep and os.environ.get("DATABASE_URL"):
            print(f"kept database {name}: {url}", file=sys.stderr)
        else:
            admin = sa.create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
            admin.dispose()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
