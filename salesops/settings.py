"""Settings from the environment and `.env` (pydantic-settings).

Nothing secret is committed: the signing key is generated into the data folder on first use.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: What may be attached to contacts and accounts by default: documents, sheets, images, mail.
ATTACHMENT_TYPES = (
    "application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif",
    "image/webp", "message/rfc822", "application/msword", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SALESOPS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(Path(".salesops"), description="Where the embedded servers, "
                           "MLflow artifacts, demo data and the secret key live.")
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "SALESOPS_DATABASE_URL"),
        description="A PostgreSQL server to use instead of the embedded one.")
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("REDIS_URL", "SALESOPS_REDIS_URL"),
        description="A Redis server to use instead of the embedded one.")
    host: str = "127.0.0.1"
    api_port: int = 8000
    dagster_port: int = 3000
    streamlit_port: int = 8501
    mlflow_port: int = 5000
    demo_scale: int = 2000
    demo_seed: int = 42
    access_token_minutes: int = 15
    signing_key: str | None = Field(
        None, validation_alias=AliasChoices("SALESOPS_SECRET_KEY"),
        description="The token signing key; replicas of the API must share one. Generated "
                    "into the data folder when unset.")
    mailbox_owners: str = Field(
        "", description="Comma-separated addresses or @domains that are us in email, besides "
                        "the users' own addresses: mail from them is outbound.")
    attachment_max_bytes: int = Field(10 * 2**20, ge=1, description="Largest file that may "
                                      "be attached to a contact or account.")
    attachment_types: list[str] = Field(
        default_factory=lambda: list(ATTACHMENT_TYPES),
        description="Media types that may be attached (JSON list in the environment).")
    enrichment_url: str | None = Field(
        None, description="Called with a new contact (POST, JSON) to fill in its blanks; "
                          "through the SSRF guard. Unset: no enrichment.")
    enrichment_timeout_seconds: float = Field(5.0, gt=0)
    imap_host: str | None = Field(None, description="An IMAP server whose folders the email "
                                  "ingest reads (the password from IMAP_PASSWORD).")
    imap_user: str | None = None
    imap_port: int | None = Field(None, description="Default 993 with ssl, else 143.")
    imap_security: str = Field("ssl", description="ssl, starttls or plain.")
    imap_folders: str = Field("INBOX", description="Comma-separated folders to read.")
    drops_start: date = Field(date(2020, 1, 1), description="The first day of the daily "
                              "file-drop partitions (<source folder>/<YYYY-MM-DD>/).")
    phone_region: str = Field(
        "US", description="ISO 3166 country of phone numbers written without a country code, "
                          "for matching people by phone (E.164).")
    drift_psi_threshold: float = Field(
        0.2, gt=0, description="A feature's (or the score's) population stability index at "
                               "or above which a scoring run flags its model as drifted.")
    mlflow_tracking_uri: str | None = Field(
        None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "SALESOPS_MLFLOW_TRACKING_URI"))

    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def mailbox_owner_list(self) -> list[str]:
        return [o.strip() for o in self.mailbox_owners.split(",") if o.strip()]

    @property
    def imap_folder_list(self) -> list[str]:
        return [f.strip() for f in self.imap_folders.split(",") if f.strip()]

    @property
    def artifacts_path(self) -> Path:
        return self.data_path / "mlartifacts"

    @property
    def attachments_path(self) -> Path:
        return self.data_path / "attachments"

    @property
    def demo_path(self) -> Path:
        return self.data_path / "demo"

    def secret_key(self) -> str:
        """The signing key: SALESOPS_SECRET_KEY, else generated into the data folder on
        first use (mode 0600)."""
        if self.signing_key:
            return self.signing_key
        path = self.data_path / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
