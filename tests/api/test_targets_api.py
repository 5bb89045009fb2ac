"""Sales targets through the API: set (create, then replace) by managers for the teams and
reps under them and by admins for anyone, audited; bad periods said plainly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import targets
from salesops.domain.audit import Actor
from salesops.domain.deals import ensure_default_pipeline
from salesops.domain.users import get_principal
from salesops.models import Deal, PipelineStage

URL = "/api/v1/targets"


def team_id(engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("select id from app.teams where name = :n"),
                            {"n": name}).scalar_one()


def test_setting_a_target_twice_replaces_it_and_is_audited(client, personas, clean_db):
    manager = personas["manager"]["headers"]
    body = {"period_grain": "quarter", "period_start": "2026-04-01",
            "user_id": personas["rep"]["id"], "amount": "50000.00"}
    first = client.put(URL, json=body, headers=manager)
    assert first.status_code == 200, first.text
    again = client.put(URL, json={**body, "amount": "60000.00"}, headers=manager)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["amount"] == "60000.00"
    assert again.json()["set_by"] == personas["manager"]["id"]

    listed = client.get(URL, params={"from": "2026-01-01", "to": "2026-12-31"},
                        headers=personas["rep"]["headers"]).json()
    assert [(t["period_start"], t["user_id"], t["amount"]) for t in listed] == [
        ("2026-04-01", personas["rep"]["id"], "60000.00")]
    assert client.get(URL, params={"from": "2026-05-01"},
                      headers=personas["rep"]["headers"]).json() == []
    with clean_db.connect() as conn:
        entries = conn.execute(sa.text(
            "select action, before ->> 'amount', after ->> 'amount' from app.audit_logs "
            "where entity = 'targets' order by id")).all()
    assert entries == [("create", None, "50000.00"), ("update", "50000.00", "60000.00")]


def test_a_manager_sets_targets_for_the_teams_under_them_only(client, personas, clean_db):
    manager = personas["manager"]["headers"]
    body = {"period_grain": "month", "period_start": "2026-05-01", "amount": "9000"}
    east = client.put(URL, json={**body, "team_id": team_id(clean_db, "Sales East")},
                      headers=manager)
    assert east.status_code == 200, east.text
    west = client.put(URL, json={**body, "team_id": team_id(clean_db, "Sales West")},
                      headers=manager)
    assert west.status_code == 403
    assert "teams and reps you manage" in west.json()["detail"]
    company = client.put(URL, json=body, headers=personas["admin"]["headers"])
    assert company.status_code == 200 and company.json()["team_id"] is None


def test_bad_targets_are_refused_with_what_to_do(client, personas):
    admin = personas["admin"]["headers"]
    base = {"period_grain": "quarter", "period_start": "2026-05-01", "amount": "1"}
    r = client.put(URL, json=base, headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"] == ("A quarter starts on its first day: 2026-04-01, "
                                            "not 2026-05-01.")
    r = client.put(URL, json={**base, "period_start": "2026-04-01", "team_id": 1,
                              "user_id": personas["rep"]["id"]}, headers=admin)
    assert r.status_code == 422 and "not both" in r.json()["detail"]
    r = client.put(URL, json={**base, "period_start": "2026-04-01", "amount": "-5"},
                   headers=admin)
    assert r.status_code == 422
    r = client.put(URL, json={**base, "period_start": "2026-04-01", "user_id": 999999},
                   headers=admin)
    assert r.status_code == 404


def test_demo_targets_follow_past_bookings(client, personas, clean_db):
    rep = personas["rep"]["id"]
    with Session(clean_db) as s, s.begin():
        pipeline = ensure_default_pipeline(s)
        stage = s.query(PipelineStage).filter_by(pipeline_id=pipeline, position=1).one()
        for amount, month in ((30000, 3), (10000, 4)):
            s.add(Deal(name=f"Won {month}", pipeline_id=pipeline, stage_id=stage.id,
                       owner_id=rep, amount=amount, is_won=True,
                       closed_at=datetime(2026, month, 10, tzinfo=UTC)))
    with Session(clean_db) as s, s.begin():
        admin = Actor(get_principal(s, personas["admin"]["id"]))
        assert targets.seed_from_bookings(s, admin, through=date(2026, 4, 15), months=2) == 4
        assert targets.seed_from_bookings(s, admin, through=date(2026, 4, 15)) == 0
    listed = client.get(URL, headers=personas["analyst"]["headers"]).json()
    # 20,000 a month on average, plus 10%: the team's, and the rep's as its only seller
    assert [(t["period_start"], t["team_id"] is not None, t["user_id"], t["amount"])
            for t in listed] == [
        ("2026-03-01", False, rep, "22000.00"), ("2026-03-01", True, None, "22000.00"),
        ("2026-04-01", False, rep, "22000.00"), ("2026-04-01", True, None, "22000.00")]
