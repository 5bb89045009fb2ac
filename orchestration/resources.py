"""Resources every asset shares: where the database is, and where the source files are.

Both come from the environment `salesops up` gives each process (DATABASE_URL,
SALESOPS_DATA_DIR), so Dagster never starts a server of its own. The HubSpot API token is
read from the environment when used, never stored in the run's configuration.
"""

import os
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from connectors import hubspot_api as hubspot
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


class HubSpotApi(dg.ConfigurableResource):
    """HubSpot CRM API v3, when the token's environment variable is set."""

    token_env: str = "HUBSPOT_TOKEN"
    base_url: str = hubspot.BASE_URL

    def client(self) -> hubspot.HubSpotClient | None:
        token = os.environ.get(self.token_env)
        return hubspot.HubSpotClient(token, self.base_url) if token else None


def database() -> Database:
    return Database(url=dg.EnvVar("DATABASE_URL"))


def source_files() -> SourceFiles:
    return SourceFiles(root=str(Settings().demo_path))


def hubspot_api() -> HubSpotApi:
    return HubSpotApi(base_url=os.environ.get("HUBSPOT_BASE_URL", hubspot.BASE_URL))
