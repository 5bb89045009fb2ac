"""Where this installation's servers are: the configured ones, or the embedded ones.

The code path is the same either way; only the bootstrap differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesops.db import check_reachable
from salesops.settings import Settings


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    embedded_database: bool
    embedded_redis: bool


def resolve_database(settings: Settings) -> tuple[str, bool]:
    """The database URL to use, starting the embedded server if none is configured."""
    if settings.database_url:
        check_reachable(settings.database_url, "DATABASE_URL")
        return settings.database_url, False
    from salesops.embedded import start_postgres

    return start_postgres(settings.data_path), True


def resolve_redis(settings: Settings) -> tuple[str, bool]:
    if settings.redis_url:
        import redis

        from salesops.errors import ConfigError

        try:
            redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5).ping()
        except redis.RedisError as exc:
            raise ConfigError(f"REDIS_URL: cannot reach Redis at {settings.redis_url}: {exc}. "
                              "Check the server, or unset REDIS_URL to use the embedded one.") \
                from None
        return settings.redis_url, False
    from salesops.embedded import start_redis

    return start_redis(settings.data_path), True


def start(settings: Settings) -> Servers:
    database_url, embedded_db = resolve_database(settings)
    redis_url, embedded_redis = resolve_redis(settings)
    return Servers(database_url, redis_url, embedded_db, embedded_redis)
