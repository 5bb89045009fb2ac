"""Campaign planning through the API: templates and segments checked on save, the four-eyes
approval step, scheduling into the Dagster delivery path, all audited."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation.campaigns import due_campaigns
from salesops.models import Contact

MQL = {"field": "lifecycle_stage", "op": "in", "value": ["mql", "sql"]}


def test_templates_and_segments_are_checked_when_saved(client, personas, clean_db):
    marketing = personas["marketing"]["headers"]
    ok = client.post("/api/v1/templates", headers=marketing, json={
        "name": "Spring", "subject": "Hi {{ first_name }}", "body": "Dear {{ full_name }}"})
    assert ok.status_code == 201 and ok.json()["owner_id"] == personas["marketing"]["id"]
    for body in ("{{ 1 / 0 }}", "{% for x in %}", "{{ ''.__class__.__mro__ }}",
                 "{{ no_such_variable }}"):
        r = client.post("/api/v1/templates", headers=marketing,
                        json={"name": f"Bad {body}", "body": body})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_template"), body

    with Session(clean_db) as s, s.begin():
        s.add_all([Contact(last_name=f"C{i}", email=f"c{i}@ex.io", lifecycle_stage=stage)
                   for i, stage in enumerate(("mql", "sql", "lead"))])
    segment = client.post("/api/v1/segments", headers=marketing,
                          json={"name": "MQLs", "definition": MQL})
    assert segment.status_code == 201, segment.text
    size = client.get(f"/api/v1/segments/{segment.json()['id']}/size", headers=marketing)
    assert size.json() == {"count": 2}
    bad = client.post("/api/v1/segments", headers=marketing,
                      json={"name": "Bad", "definition": {"field": "password", "op": "eq",
                                                          "value": "x"}})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.post("/api/v1/segments", headers=personas["rep"]["headers"],
                       json={"name": "Rep's", "definition": {}}).status_code == 403
    assert client.get("/api/v1/segments", headers=personas["analyst"]["headers"]).json()[
        "items"][0]["name"] == "MQLs"


def test_a_campaign_is_approved_by_someone_else_then_scheduled(client, personas, clean_db):
    marketing, admin = personas["marketing"]["headers"], personas["admin"]["headers"]
    template = client.post("/api/v1/templates", headers=marketing, json={
        "name": "Offer", "subject": "Hi {{ first_name }}", "body": "Dear {{ full_name }}"})
    segment = client.post("/api/v1/segments", headers=marketing,
                          json={"name": "Leads", "definition": MQL})
    made = client.post("/api/v1/campaigns", headers=marketing, json={
        "name": "Spring 2026", "channel": "email", "template_id": template.json()["id"],
        "segment_id": segment.json()["id"], "budget": "5000.00"})
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["audience"] == MQL and campaign["approval"] == "none"
    url = f"/api/v1/campaigns/{campaign['id']}"

    def act(action, headers, **body):
        return client.post(f"{url}/{action}", headers=headers, json=body or None)

    assert act("schedule", marketing).json()["code"] == "not_approved"
    assert act("approve", admin).json()["code"] == "not_awaiting_approval"
    assert act("submit", marketing).json()["approval"] == "requested"
    assert act("approve", marketing).json()["code"] == "own_campaign"
    assert act("approve", personas["rep"]["headers"]).status_code == 403
    approved = act("approve", admin).json()
    assert approved["approval"] == "approved"
    assert approved["approved_by"] == personas["admin"]["id"]

    changed = client.patch(url, headers=marketing,
                           json={"budget": "6000.00", "version": approved["version"]})
    assert changed.status_code == 200 and changed.json()["approval"] == "none"
    act("submit", marketing)
    rejected = act("reject", admin, reason="Budget too high")
    assert rejected.status_code == 200 and rejected.json()["approval"] == "none"
    act("submit", marketing)
    act("approve", admin)
    scheduled = act("schedule", marketing)
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "scheduled" and scheduled.json()["scheduled_at"]
    assert campaign["id"] in due_campaigns(clean_db)  # the Dagster sensor's query
    late = client.patch(url, headers=marketing, json={"name": "x",
                                                      "version": scheduled.json()["version"]})
    assert (late.status_code, late.json()["code"]) == (409, "campaign_not_draft")
    assert act("cancel", marketing).json()["status"] == "cancelled"
    assert campaign["id"] not in due_campaigns(clean_db)

    with clean_db.connect() as conn:
        actions = conn.scalars(sa.text(
            "select action from app.audit_logs where entity = 'campaigns' and entity_id = :i "
            "order by id"), {"i": str(campaign["id"])}).all()
    assert actions == ["create", "submit", "approve", "update", "submit", "reject", "submit",
                       "approve", "schedule", "cancel"]
    assert client.get("/api/v1/campaigns", headers=personas["rep"]["headers"]).status_code \
        == 403


def test_templates_and_segments_come_back_from_the_trash(client, personas):
    marketing = personas["marketing"]["headers"]
    for base, body in (("/api/v1/templates", {"name": "Trashed", "body": "Hi"}),
                       ("/api/v1/segments", {"name": "Trashed", "definition": MQL})):
        made = client.post(base, headers=marketing, json=body).json()
        url = f"{base}/{made['id']}"
        assert client.delete(url, headers=marketing).status_code == 204
        assert client.get(url, headers=marketing).status_code == 404
        assert client.post(f"{url}/restore",
                           headers=personas["analyst"]["headers"]).status_code == 403
        back = client.post(f"{url}/restore", headers=marketing)
        assert back.status_code == 200, back.text
        assert back.json()["deleted_at"] is None and back.json()["name"] == "Trashed"
        assert back.json()["version"] > made["version"]
        assert client.get(url, headers=marketing).status_code == 200
        again = client.post(f"{url}/restore", headers=marketing)
        assert again.status_code == 404, again.text  # nothing in the trash to restore
