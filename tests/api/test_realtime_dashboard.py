"""Dashboard figures on the WebSocket feed: on connecting, and when the marts are rebuilt
(announced by the Dagster sensor that watches their materializations), users who may read
every deal get a `metrics` message of scope `dashboard`, once per change; others get
nothing."""

from __future__ import annotations

import json
from contextlib import ExitStack, contextmanager

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation import dashboard_feed
from salesops.models import Notification

pytestmark = pytest.mark.timeout(90)

MARTS = ("fct_deals", "fct_leads")
ASIDE = "__aside_dashboard_feed"


@contextmanager
def hand_made_marts(engine: sa.Engine):
    """Two small marts under the real names (real ones built by other tests are moved
    aside and put back)."""
    with engine.begin() as conn:
        conn.execute(sa.text("create schema if not exists marts"))
        moved = [n for n in MARTS if conn.execute(sa.text("select to_regclass(:r) is not null"),
                                                  {"r": f"marts.{n}"}).scalar()]
        for name in moved:
            conn.execute(sa.text(f"alter table marts.{name} rename to {name}{ASIDE}"))
        conn.execute(sa.text("""
            create table marts.fct_deals as select * from (values
                (1000.0, 0.0, true, true, current_date - 10),
                (500.0, 0.0, true, false, current_date - 20),
                (4000.0, 2400.0, false, false, null::date)
            ) as d (amount, weighted_amount, is_closed, is_won, closed_date)"""))
        conn.execute(sa.text("""
            create table marts.fct_leads as select * from (values
                (now() - interval '3 days', true), (now() - interval '60 days', false)
            ) as l (created_at, is_converted)"""))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for name in MARTS:
                conn.execute(sa.text(f"drop table if exists marts.{name}"))
            for name in moved:
                conn.execute(sa.text(f"alter table marts.{name}{ASIDE} rename to {name}"))


def _connect(stack: ExitStack, client, personas, name: str):
    token = personas[name]["headers"]["Authorization"].removeprefix("Bearer ")
    ws = stack.enter_context(client.websocket_connect(f"/api/v1/ws?token={token}"))
    assert ws.receive_json()["type"] == "ready"
    assert ws.receive_json()["type"] == "metrics"  # the work-queue figures
    return ws


def _until_marker(ws) -> list[dict]:
    """Every message up to the next notification (a marker sent after the change)."""
    seen = []
    while (message := ws.receive_json())["type"] != "notification":
        seen.append(message)
    return seen


def _marker(engine, *user_ids: int) -> None:
    with Session(engine) as s, s.begin():
        for user_id in user_ids:
            s.add(Notification(user_id=user_id, kind="reminder", title="marker", body="b"))


def _dashboard(messages: list[dict]) -> list[dict]:
    return [m["metrics"] for m in messages if m.get("scope") == "dashboard"]


FIGURES = {"open_pipeline_amount": 4000.0, "weighted_pipeline_amount": 2400.0,
           "won_amount_90d": 1000.0, "won_deals_90d": 1, "win_rate_90d": 0.5,
           "new_leads_30d": 1, "lead_conversion_rate": 0.5}
HIDDEN_AMOUNTS = {"open_pipeline_amount": None, "weighted_pipeline_amount": None,
                  "won_amount_90d": None}


def test_a_client_gets_the_current_dashboard_figures_when_it_connects(client, personas,
                                                                      clean_db):
    names = ("admin", "analyst", "rep")
    with ExitStack() as stack, hand_made_marts(clean_db):
        admin, analyst, rep = (_connect(stack, client, personas, n) for n in names)
        _marker(clean_db, *(personas[n]["id"] for n in names))
        assert _dashboard(_until_marker(admin)) == [FIGURES]
        # the analyst reads every deal but not its amount
        assert _dashboard(_until_marker(analyst)) == [{**FIGURES, **HIDDEN_AMOUNTS}]
        assert _dashboard(_until_marker(rep)) == []  # a rep reads their team's deals only


def test_rebuilt_marts_push_changed_dashboard_figures_to_who_may_read_all_deals(
        client, personas, clean_db):
    names = ("admin", "analyst", "rep")
    ids = [personas[n]["id"] for n in names]
    with ExitStack() as stack, hand_made_marts(clean_db):
        admin, analyst, rep = (_connect(stack, client, personas, n) for n in names)
        _marker(clean_db, *ids)
        for ws in (admin, analyst, rep):
            _until_marker(ws)  # what they got on connecting
        dashboard_feed.announce(clean_db, "dbt")  # rebuilt, nothing changed: no message
        with clean_db.begin() as conn:
            conn.execute(sa.text("insert into marts.fct_deals values "
                                 "(250.0, 25.0, false, false, null)"))
        dashboard_feed.announce(clean_db, "dbt")
        _marker(clean_db, *ids)
        changed = {**FIGURES, "open_pipeline_amount": 4250.0,
                   "weighted_pipeline_amount": 2425.0}
        assert _dashboard(_until_marker(admin)) == [changed]
        # only amounts changed, which the analyst may not see: nothing new for them
        assert _dashboard(_until_marker(analyst)) == []
        assert _dashboard(_until_marker(rep)) == []


def test_the_sensor_announces_each_rebuild_once(clean_db, database_url, monkeypatch):
    from orchestration.defs import realtime
    from orchestration.resources import Database

    key = dg.AssetKey(["marts", "fct_deals"])
    monkeypatch.setattr(realtime, "mart_keys", lambda: [key])
    instance = dg.DagsterInstance.ephemeral()
    resources = {"database": Database(url=database_url)}
    url = clean_db.url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as pg:
        pg.execute(f"LISTEN {dashboard_feed.CHANNEL}")

        def evaluate(cursor: str | None):
            with dg.build_sensor_context(instance=instance, resources=resources,
                                         cursor=cursor) as context:
                result = realtime.marts_refreshed_sensor(context)
                return result, context.cursor

        result, cursor = evaluate(None)
        assert "no mart rebuilt" in result.skip_message and cursor is None
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
        result, cursor = evaluate(None)
        assert "announced" in result.skip_message and cursor
        [note] = list(pg.notifies(timeout=5, stop_after=1))
        assert json.loads(note.payload) == {"source": "dbt"}
        result, _ = evaluate(cursor)  # the same rebuild: not again
        assert "no mart rebuilt" in result.skip_message
