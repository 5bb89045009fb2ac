"""Clients of the event loop: the psycopg pool and the async Redis client that the lead
capture uses without leaving the loop (no worker thread, no SQLAlchemy in between).

An async client belongs to the loop it was made in, and one app may serve from several
loops (uvicorn has one per worker; tests start one per `TestClient`, nested ones too), so
`LoopClients` makes them on first use in each loop and closes a loop's at its shutdown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import redis.asyncio
from psycopg_pool import AsyncConnectionPool

from salesops.db import async_pool


@dataclass(frozen=True)
class Clients:
    database: AsyncConnectionPool
    redis: redis.asyncio.Redis


class LoopClients:
    def __init__(self, database_url: str, redis_url: str) -> None:
        self.database_url, self.redis_url = database_url, redis_url
        self._by_loop: WeakKeyDictionary[asyncio.AbstractEventLoop,
                                         asyncio.Future[Clients]] = WeakKeyDictionary()

    async def get(self) -> Clients:
        """This loop's clients (the first caller makes them, the others wait for it)."""
        loop = asyncio.get_running_loop()
        if (made := self._by_loop.get(loop)) is None:
            made = self._by_loop[loop] = loop.create_task(self._make())
        try:
            return await asyncio.shield(made)
        except Exception:
            if self._by_loop.get(loop) is made:  # the next request tries again
                del self._by_loop[loop]
            raise

    async def _make(self) -> Clients:
        pool = async_pool(self.database_url)
        await pool.open()
        return Clients(pool, redis.asyncio.Redis.from_url(
            self.redis_url, socket_timeout=5, socket_connect_timeout=2,
            health_check_interval=30))

    async def close(self) -> None:
        """Close this loop's clients, if it made any."""
        made = self._by_loop.pop(asyncio.get_running_loop(), None)
        if made is None:
            return
        try:
            clients = await made
        except Exception:  # never made: nothing to close
            return
        await clients.database.close()
        await clients.redis.aclose()
