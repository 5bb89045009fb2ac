"""POST /contacts/{id}/merge: every related record moves to the survivor with its lineage,
the duplicates go to the trash pointing at it, audited, all or nothing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain.deals import ensure_default_pipeline
from salesops.models import (
    Contact,
    ContactSource,
    Deal,
    Interaction,
    Lead,
    Note,
    PipelineStage,
    Task,
)


def _family(engine, owner_id: int) -> dict[str, int]:
    """A survivor and two duplicates owned by `owner_id`, each duplicate with related
    records of every kind."""
    with Session(engine) as s, s.begin():
        survivor = Contact(first_name="Ann", last_name="Lee", owner_id=owner_id)
        one = Contact(first_name="Anne", last_name="Lee", phone="+1 555 0199", title="CFO",
                      email=f"ann{owner_id}@old.example",
                      email_normalized=f"ann{owner_id}@old.example",
                      owner_id=owner_id)
        two = Contact(first_name="A.", last_name="Lee", title="Finance", owner_id=owner_id)
        s.add_all([survivor, one, two])
        s.flush()
        pipeline = ensure_default_pipeline(s)
        stage = s.scalar(sa.select(PipelineStage.id).where(
            PipelineStage.pipeline_id == pipeline, PipelineStage.position == 1))
        s.add_all([
            Note(contact_id=one.id, body="met", author_id=owner_id),
            Note(contact_id=two.id, body="called", author_id=owner_id),
            Task(title="follow up", contact_id=one.id, assignee_id=owner_id),
            Lead(contact_id=two.id, company="Lee Ltd", owner_id=owner_id),
            Deal(name="Lee deal", contact_id=one.id, pipeline_id=pipeline, stage_id=stage,
                 owner_id=owner_id),
            Interaction(contact_id=two.id, kind="email", direction="inbound",
                        occurred_at=sa.func.now()),
            ContactSource(contact_id=one.id, source="salesforce.contact",
                          source_key=f"003-{one.id}", match_rule="email"),
        ])
        return {"survivor": survivor.id, "one": one.id, "two": two.id}


def _related(engine, contact_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.scalar(sa.text(f"select count(*) from app.{t} where contact_id = :c"),
                               {"c": contact_id})
                for t in ("notes", "tasks", "leads", "sales_pipeline", "interactions",
                          "contact_sources")}


def test_merge_moves_everything_to_the_survivor(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    ids = _family(clean_db, personas["rep"]["id"])
    r = client.post(f"/api/v1/contacts/{ids['survivor']}/merge",
                    json={"duplicate_ids": [ids["one"], ids["two"]]}, headers=rep)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["merged_ids"] == [ids["one"], ids["two"]]
    assert body["moved"] == {"notes": 2, "attachments": 0, "leads": 1, "tasks": 1,
                             "sales_pipeline": 1, "interactions": 1, "contact_sources": 1}
    # blanks filled from the duplicates, in the order given; nothing overwritten
    assert (body["first_name"], body["phone"], body["title"], body["email"]) == \
        ("Ann", "+1 555 0199", "CFO", f"ann{personas['rep']['id']}@old.example")
    assert r.headers["ETag"] == f'"{body["version"]}"' and body["version"] == 2
    assert _related(clean_db, ids["survivor"]) == {
        "notes": 2, "tasks": 1, "leads": 1, "sales_pipeline": 1, "interactions": 1,
        "contact_sources": 1}
    with clean_db.connect() as conn:
        gone = conn.execute(sa.text(
            "select merged_into_id, deleted_at is not null from app.contacts "
            "where id = any(:ids) order by id"), {"ids": [ids["one"], ids["two"]]}).all()
        lineage = conn.scalar(sa.text("select match_rule from app.contact_sources "
                                      "where contact_id = :c"), {"c": ids["survivor"]})
        audited = conn.execute(sa.text(
            "select entity_id::bigint, action from app.audit_logs where entity = 'contacts' "
            "and action = 'merge' order by entity_id::bigint")).all()
        topics = conn.scalars(sa.text("select topic from app.events where topic like "
                                      "'contact.merged%' order by id")).all()
    assert gone == [(ids["survivor"], True), (ids["survivor"], True)]
    assert lineage == "manual_merge"
    assert audited == [(ids["survivor"], "merge"), (ids["one"], "merge"),
                       (ids["two"], "merge")]
    assert sorted(topics) == ["contact.merged", "contact.merged_away", "contact.merged_away"]
    assert client.get(f"/api/v1/contacts/{ids['one']}", headers=rep).status_code == 404
    back = client.post(f"/api/v1/contacts/{ids['one']}/restore", headers=rep)
    assert (back.status_code, back.json()["code"], back.json()["survivor_id"]) == \
        (409, "merged_contact", ids["survivor"])


def test_a_refused_merge_changes_nothing(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    ids = _family(clean_db, personas["rep"]["id"])
    outsider = _family(clean_db, personas["rep_west"]["id"])["one"]
    before = {k: _related(clean_db, v) for k, v in ids.items()}
    url = f"/api/v1/contacts/{ids['survivor']}/merge"

    cases = [
        ({"duplicate_ids": [ids["one"], outsider]}, rep, 404, "not_found"),
        ({"duplicate_ids": [ids["one"]]}, personas["rep2"]["headers"], 403,
         "permission_denied"),
        ({"duplicate_ids": [ids["one"]], "version": 7}, rep, 409, "stale_version"),
        ({"duplicate_ids": [ids["survivor"]]}, rep, 422, "invalid_input"),
        ({"duplicate_ids": []}, rep, 422, "validation_error"),
    ]
    for body, headers, status, code in cases:
        r = client.post(url, json=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    assert {k: _related(clean_db, v) for k, v in ids.items()} == before
    with clean_db.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from app.contacts where "
                                   "merged_into_id is not null")) == 0

    first = client.post(url, json={"duplicate_ids": [ids["one"]]}, headers=rep)
    assert first.status_code == 200
    other = client.post(f"/api/v1/contacts/{ids['two']}/merge",
                        json={"duplicate_ids": [ids["one"]]}, headers=rep)
    assert other.status_code == 404  # a merged duplicate is in the trash
