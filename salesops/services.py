"""The four services `salesops up` runs, as commands (never imports: salesops stands alone).

Each is started by name (module path or script) in its own process, with the database and
Redis URLs in its environment, so none of them ever starts an embedded server itself.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from salesops.db import psycopg2_url
from salesops.errors import ConfigError
from salesops.runtime import Servers
from salesops.settings import Settings

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    port: int
    setting: str  # the setting that changes the port, for error messages
    command: list[str]
    health_path: str
    url_path: str = "/"
    env: dict[str, str] = field(default_factory=dict)

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}{self.url_path}"

    def health_url(self, host: str) -> str:
        return f"http://{host}:{self.port}{self.health_path}"


def dagster_home(settings: Settings) -> Path:
    """Dagster's instance folder; its storage is the `dagster` schema of our database."""
    home = settings.data_path / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        "# Written by salesops up: run storage, event log and schedules in PostgreSQL.\n"
        "storage:\n  postgres:\n    postgres_url:\n      env: SALESOPS_DAGSTER_PG_URL\n"
        "telemetry:\n  enabled: false\n")
    return home


def environment(settings: Settings, servers: Servers) -> dict[str, str]:
    """What every service process is given."""
    api = f"http://{settings.host}:{settings.api_port}"
    return {
        **os.environ,
        # the services' own commands (dbt, for dagster-dbt) come from this environment
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url,
        "SALESOPS_DATA_DIR": str(settings.data_path),
        "SALESOPS_API_URL": api,
        "DAGSTER_HOME": str(dagster_home(settings)),
        "SALESOPS_DAGSTER_PG_URL": psycopg2_url(servers.database_url, search_path="dagster"),
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri
        or psycopg2_url(servers.database_url, search_path="mlflow"),
        "PYTHONUNBUFFERED": "1",
    }


def services(settings: Settings, servers: Servers) -> list[Service]:
    host = settings.host
    tracking = settings.mlflow_tracking_uri or psycopg2_url(servers.database_url, "mlflow")
    return [
        Service("api", "API (OpenAPI docs at /docs)", settings.api_port, "--api-port",
                [str(BIN / "uvicorn"), "--factory", "api.main:create_app", "--host", host,
                 "--port", str(settings.api_port)], "/api/v1/health", "/docs"),
        Service("dagster", "Dagster UI", settings.dagster_port, "--dagster-port",
                [str(BIN / "dagster"), "dev", "-m", "orchestration.definitions", "-h", host,
                 "-p", str(settings.dagster_port)], "/server_info"),
        Service("dashboards", "Streamlit dashboards", settings.streamlit_port,
                "--streamlit-port",
                [str(BIN / "streamlit"), "run", str(REPO / "dashboards" / "app.py"),
                 "--server.port", str(settings.streamlit_port), "--server.address", host,
                 "--server.headless", "true", "--browser.gatherUsageStats", "false",
                 "--client.toolbarMode", "viewer"],
                "/_stcore/health"),
        Service("mlflow", "MLflow UI", settings.mlflow_port, "--mlflow-port",
                [str(BIN / "mlflow"), "server", "--backend-store-uri", tracking,
                 "--artifacts-destination", settings.artifacts_path.as_uri(),
                 "--host", host, "--port", str(settings.mlflow_port), "--workers", "1"],
                "/health",
                # its job runner (three more processes) serves GenAI jobs we do not use
                env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}),
    ]


def check_ports_free(host: str, wanted: list[Service]) -> None:
    for service in wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, service.port))
            except OSError:
                raise ConfigError(
                    f"Port {service.port} on {host} is in use, so the {service.title} cannot "
                    f"start. Free it, or pass {service.setting} N (or set "
                    f"SALESOPS_{service.setting[2:].replace('-', '_').upper()}).") from None
