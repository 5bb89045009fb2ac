"""The engine's pool: a connection idle in the pool is checked before use."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from salesops import db


def test_a_connection_killed_while_idle_is_replaced_not_handed_out(engine, monkeypatch):
    with engine.connect() as conn:  # back in the pool, idle
        pid = conn.execute(sa.text("select pg_backend_pid()")).scalar_one()
    outside = sa.create_engine(engine.url, poolclass=NullPool)
    with outside.connect() as killer:
        killer.execute(sa.text("select pg_terminate_backend(:p)"), {"p": pid})
        for _ in range(100):  # until the server has ended it
            if not killer.execute(sa.text("select count(*) from pg_stat_activity "
                                          "where pid = :p"), {"p": pid}).scalar_one():
                break
            time.sleep(0.05)
    outside.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    for _ in range(3):  # whichever pooled connection comes out, it works
        with engine.connect() as conn:
            assert conn.execute(sa.text("select pg_backend_pid()")).scalar_one() != pid
