"""The engine's pool: a connection idle in the pool is checked before use. Statements
run on the driver's connection (`DriverStatement`) behave as SQLAlchemy's."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from salesops import db
from salesops.security.sealed import Sealed


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


def test_a_driver_statement_runs_in_the_callers_transaction_with_bind_processors(engine):
    echo = db.DriverStatement(sa.text("select :secret, :plain, txid_current()").bindparams(
        sa.bindparam("secret", type_=Sealed("test"))))
    with Session(engine) as session, session.begin():
        txid = session.execute(sa.text("select txid_current()")).scalar_one()
        sealed, plain, same_txid = echo.execute(session, {"secret": "s3cret", "plain": "x"})
        assert sealed.startswith("v1:") and "s3cret" not in sealed  # the type's processor
        assert (plain, same_txid) == ("x", txid)
        session.rollback()
    with engine.connect() as conn:  # no row: None
        assert db.DriverStatement(sa.text("select 1 where false")).execute(conn) is None


def test_a_driver_statement_fails_as_sqlalchemy_would_and_rolls_back(engine):
    bad = db.DriverStatement(sa.text("select cast(:n as int) / 0"))
    with Session(engine) as session:
        with pytest.raises(sa.exc.DataError) as failure, session.begin():
            bad.execute(session, {"n": 1})
        assert "division by zero" in str(failure.value)
        assert session.execute(sa.text("select 1")).scalar_one() == 1  # usable again
