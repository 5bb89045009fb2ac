"""Resources every asset shares: where the database is, and where the source files are.

Both come from the environment `salesops up` gives each process (DATABASE_URL,
SALESOPS_DATA_DIR), so Dagster never starts a server of its own. The HubSpot API token and
the IMAP password are read from the environment when used, never stored in the run's
configuration.
"""

import os
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from connectors import hubspot_api as hubspot
from connectors.imap import ImapAccount
from salesops.db import get_engine
from salesops.errors import SalesopsError
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


class ImapMailbox(dg.ConfigurableResource):
    """An IMAP mailbox read into `raw.email__messages` with the mail files; no host: none.

    The password is read from the environment (`password_env`) when used, never stored."""

    host: str = ""
    user: str = ""
    port: int = 0  # 0: 993 with ssl, else 143
    security: str = "ssl"
    folders: list[str] = ["INBOX"]
    password_env: str = "IMAP_PASSWORD"

    def account(self) -> ImapAccount | None:
        """The account to read, or None when no mailbox is configured."""
        if not self.host:
            return None
        if not self.user or not os.environ.get(self.password_env):
            raise SalesopsError(f"IMAP host {self.host} is set: set its user "
                                f"(SALESOPS_IMAP_USER) and {self.password_env} too")
        return ImapAccount(self.host, self.user, os.environ[self.password_env],
                           port=self.port or (993 if self.security == "ssl" else 143),
                           security=self.security, folders=tuple(self.folders or ["INBOX"]))


def imap_mailbox(settings: Settings | None = None) -> ImapMailbox:
    """The mailbox of SALESOPS_IMAP_HOST, _USER, _PORT, _SECURITY and _FOLDERS."""
    settings = settings or Settings()
    return ImapMailbox(host=settings.imap_host or "", user=settings.imap_user or "",
                       port=settings.imap_port or 0, security=settings.imap_security,
                       folders=settings.imap_folder_list or ["INBOX"])


def database() -> Database:
    return Database(url=dg.EnvVar("DATABASE_URL"))


def source_files() -> SourceFiles:
    return SourceFiles(root=str(Settings().demo_path))


def hubspot_api() -> HubSpotApi:
    return HubSpotApi(base_url=os.environ.get("HUBSPOT_BASE_URL", hubspot.BASE_URL))
