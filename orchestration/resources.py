"""Resources every asset shares: where the database is, and where the source files are.

Both come from the environment `salesops up` gives each process (DATABASE_URL,
SALESOPS_DATA_DIR), so Dagster never starts a server of its own.
"""


from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from salesops.db import get_engine
from salesops.settings import Settings


class Database(dg.ConfigurableResource):
    """salesops' PostgreSQL database."""

    url: str

    @property
    def engine(self) -> sa.Engine:
        return get_engine(self.url)


class SourceFiles(dg.ConfigurableResource):
    """The folder of source files to ingest: the demo data set unless configured."""

    root: str

    def path(self, *parts: str) -> Path:
        return Path(self.root).joinpath(*parts)


def database() -> Database:
    return Database(url=dg.EnvVar("DATABASE_URL"))


def source_files() -> SourceFiles:
    return SourceFiles(root=str(Settings().demo_path))
