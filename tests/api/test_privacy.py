"""GDPR export and erase of a contact, on the real database: everything about the person
(merged duplicates, related records, `ml` and `raw` rows) is exported, then erased, while
other people's rows stay; admins only; one audit entry says what and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation import lifecycle
from salesops.domain.deals import ensure_default_pipeline
from salesops.models import (
    Contact,
    ContactSource,
    Deal,
    Interaction,
    Lead,
    LeadScore,
    LoadBatch,
    Note,
    PipelineStage,
    SentimentAnalysis,
    Task,
)
from salesops.models.raw import RAW_TABLES

ML = {"model_name": "m", "model_version": "1", "mlflow_run_id": "r"}


def _person(engine, personas, email: str, key: str) -> dict[str, int]:
    """A contact with a merged duplicate, and one of everything that can relate to it."""
    with Session(engine) as s, s.begin():
        c = Contact(first_name="Greta", last_name="Garbo", email=email, email_normalized=email,
                    phone="+46 8 000 000", marketing_consent=True, consent_text="yes",
                    consent_at=datetime(2026, 1, 1, tzinfo=UTC),
                    owner_id=personas["rep"]["id"])
        s.add(c)
        s.flush()
        dup = Contact(first_name="G.", last_name="Garbo", email="g." + email,
                      merged_into_id=c.id)
        lead = Lead(contact_id=c.id, company="Studio", title="Actress",
                    owner_id=personas["rep"]["id"])
        s.add_all([dup, lead, ContactSource(contact_id=c.id, source="hubspot.contact",
                                            source_key=key)])
        s.flush()
        mail = Interaction(kind="email", direction="inbound", contact_id=c.id,
                           occurred_at=datetime(2026, 2, 1, tzinfo=UTC),
                           subject="I want to be alone", body="private words")
        pipeline = ensure_default_pipeline(s)
        stage = s.scalar(sa.select(PipelineStage.id).where(PipelineStage.pipeline_id == pipeline,
                                                           PipelineStage.position == 1))
        deal = Deal(name="Film", contact_id=c.id, lead_id=lead.id, pipeline_id=pipeline,
                    stage_id=stage, owner_id=personas["rep"]["id"])
        s.add_all([mail, deal, Note(contact_id=c.id, body="met at the premiere"),
                   Task(title="Call Greta", description="her home number", contact_id=c.id),
                   LeadScore(lead_id=lead.id, score=80, band="A", probability=0.8, **ML)])
        s.flush()
        s.add(SentimentAnalysis(interaction_id=mail.id, label="negative", score=-0.5, **ML))
        batch = uuid.uuid4()
        s.add(LoadBatch(batch_id=batch, source="hubspot", entity="contacts"))
        s.flush()
        s.execute(sa.insert(RAW_TABLES["hubspot", "contacts"]).values(
            batch_id=batch, source="hubspot", source_key=key, content_hash=key,
            record={"id": key, "properties": {"firstname": "Greta"}}))
        s.execute(sa.insert(RAW_TABLES["webforms", "submissions"]).values(
            batch_id=batch, source="webforms", source_key="f" + key, content_hash=key,
            record={"email": email.upper()}))
        return {"contact": c.id, "dup": dup.id, "lead": lead.id, "interaction": mail.id,
                "deal": deal.id}


def test_export_then_erase_reach_everything_about_the_person_only(client, personas, clean_db):
    admin = personas["admin"]["headers"]
    greta = _person(clean_db, personas, "greta@film.se", "hs-1")
    other = _person(clean_db, personas, "other@film.se", "hs-2")

    for who in ("manager", "rep", "analyst", "integration"):
        h = personas[who]["headers"]
        assert client.get(f"/api/v1/contacts/{greta['contact']}/export",
                          headers=h).status_code == 403
        assert client.post(f"/api/v1/contacts/{greta['contact']}/erase", headers=h,
                           json={"reason": "asked"}).status_code == 403

    export = client.get(f"/api/v1/contacts/{greta['contact']}/export", headers=admin)
    assert export.status_code == 200
    doc = export.json()
    assert [c["id"] for c in doc["contacts"]] == [greta["contact"], greta["dup"]]
    assert doc["contacts"][0]["phone"] == "+46 8 000 000"
    assert doc["consents"][0]["consent_text"] == "yes"
    assert [n["body"] for n in doc["notes"]] == ["met at the premiere"]
    assert [t["description"] for t in doc["tasks"]] == ["her home number"]
    assert [x["subject"] for x in doc["interactions"]] == ["I want to be alone"]
    assert [x["id"] for x in doc["leads"]] == [greta["lead"]]
    assert [d["id"] for d in doc["deals"]] == [greta["deal"]]
    assert len(doc["ml.lead_scores"]) == len(doc["ml.sentiment_analysis"]) == 1
    assert [r["source_key"] for r in doc["raw.hubspot__contacts"]] == ["hs-1"]
    assert [r["source_key"] for r in doc["raw.webforms__submissions"]] == ["fhs-1"]

    assert client.post(f"/api/v1/contacts/{greta['contact']}/erase", headers=admin,
                       json={"reason": "  "}).status_code == 422
    erased = client.post(f"/api/v1/contacts/{greta['contact']}/erase", headers=admin,
                         json={"reason": "Art. 17 request, ticket 7"})
    assert erased.status_code == 200
    counts = erased.json()["erased"]
    assert counts["contacts"] == 2 and counts["raw.hubspot__contacts"] == 1
    assert counts["raw.webforms__submissions"] == 1 and counts["ml.lead_scores"] == 1

    with Session(clean_db) as s:
        for cid in (greta["contact"], greta["dup"]):
            c = s.get(Contact, cid)
            assert (c.first_name, c.last_name, c.email, c.phone, c.consent_text) == \
                (None, "Erased", None, None, None)
            assert c.deleted_at is not None and c.email_opt_out
        mail = s.get(Interaction, greta["interaction"])
        assert (mail.subject, mail.body) == (None, None)
        assert s.get(Lead, greta["lead"]).title is None
        assert s.get(Deal, greta["deal"]).name == "Film"  # the business record stays
        assert s.scalar(sa.select(sa.func.count()).select_from(Note).where(
            Note.contact_id == greta["contact"])) == 0
        assert s.scalar(sa.select(Task.description).where(
            Task.contact_id == greta["contact"])) is None
        raw = RAW_TABLES["hubspot", "contacts"]
        assert s.scalars(sa.select(raw.c.source_key)).all() == ["hs-2"]
        assert s.scalars(sa.select(LeadScore.lead_id)).all() == [other["lead"]]
        kept = s.get(Contact, other["contact"])
        assert kept.email == "other@film.se" and kept.phone == "+46 8 000 000"
        assert s.get(Interaction, other["interaction"]).body == "private words"

    entries = client.get(f"/api/v1/audit-logs?entity=contacts&entity_id={greta['contact']}",
                         headers=admin).json()["items"]
    assert [e["action"] for e in entries] == ["erase", "export"]
    assert entries[0]["after"]["reason"] == "Art. 17 request, ticket 7"
    assert entries[0]["after"]["gdpr_erase"] == counts
    assert "greta" not in str(entries[0]).lower()
    assert client.get("/api/v1/contacts/999999/export", headers=admin).status_code == 404


def test_a_survivor_younger_than_its_duplicates_is_exported_first(client, personas, clean_db):
    with Session(clean_db) as s, s.begin():
        older = Contact(first_name="Old", last_name="Dup", email="old@dup.io")
        s.add(older)
        s.flush()
        survivor = Contact(first_name="New", last_name="Survivor", email="new@dup.io")
        s.add(survivor)
        s.flush()
        older.merged_into_id = survivor.id
        ids = (survivor.id, older.id)
    doc = client.get(f"/api/v1/contacts/{ids[0]}/export",
                     headers=personas["admin"]["headers"]).json()
    assert [c["id"] for c in doc["contacts"]] == list(ids)
    assert [c["contact_id"] for c in doc["consents"]] == list(ids)


def test_erase_removes_the_persons_attachment_files_and_notes(client, app, personas,
                                                              clean_db):
    admin = personas["admin"]["headers"]
    greta = _person(clean_db, personas, "greta@film.se", "hs-1")
    other = _person(clean_db, personas, "other@film.se", "hs-2")
    root = app.state.settings.attachments_path

    def upload(contact: int, name: str) -> str:
        r = client.post(f"/api/v1/contacts/{contact}/attachments", params={"filename": name},
                        content=b"scan", headers={**admin, "Content-Type": "text/plain"})
        assert r.status_code == 201, r.text
        with clean_db.connect() as conn:
            return conn.scalar(sa.text("select stored_name from app.attachments "
                                       "where id = :i"), {"i": r.json()["id"]})

    passport, contract = upload(greta["contact"], "passport.txt"), upload(greta["dup"], "c.txt")
    trashed = upload(greta["contact"], "old.txt")
    with clean_db.begin() as conn:  # in the trash: its file is still stored
        conn.execute(sa.text("update app.attachments set deleted_at = now() "
                             "where stored_name = :s"), {"s": trashed})
    kept = upload(other["contact"], "theirs.txt")
    gone = [root / s[:2] / s for s in (passport, contract, trashed)]
    assert all(p.is_file() for p in gone)

    r = client.post(f"/api/v1/contacts/{greta['contact']}/erase", headers=admin,
                    json={"reason": "Art. 17"})
    assert r.status_code == 200, r.text
    assert r.json()["erased"]["files"] == 3 and r.json()["erased"]["attachments"] == 3
    assert r.json()["erased"]["notes"] == 1
    assert not any(p.exists() for p in gone)
    assert (root / kept[:2] / kept).read_bytes() == b"scan"
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select stored_name from app.attachments")
                            ).scalars().all() == [kept]
        assert conn.execute(sa.select(Note.body)).scalars().all() == \
            ["met at the premiere"]  # the other person's note (opened: bodies are sealed)
        report = lifecycle.report(conn, datetime(2000, 1, 1, tzinfo=UTC))
    [erase] = [x for x in report if x["action"] == "gdpr_erase"]
    assert erase["ids"] == [greta["contact"]] and erase["why"] == "Art. 17"
    assert erase["dependents"]["files"] == 3 and erase["dependents"]["attachments"] == 3
