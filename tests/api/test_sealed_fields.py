"""Sensitive fields at rest: phones, contract values and note bodies are sealed in the
database, open for the roles that may see them, match by blind index, stay out of logs,
and rotate."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.models import Contact, Contract, Note
from salesops.security import crypto
from salesops.security.crypto import FieldCipher
from salesops.security.sealed import normalize_phone, phone_index

PHONE = "+1 (555) 010-0199"


def _raw(engine: sa.Engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def _won_contract(client, headers) -> int:
    deal = client.post("/api/v1/deals", json={"name": "Sealed", "amount": "12000.00",
                                              "expected_close_date": "2030-03-31"},
                       headers=headers).json()
    won = client.post(f"/api/v1/deals/{deal['id']}/won", json={}, headers=headers)
    assert won.status_code == 200, won.text
    return won.json()["contract_id"]


def test_normalised_phones_match_across_formats():
    assert normalize_phone(PHONE) == normalize_phone("001 555 0100199") == "+15550100199"
    assert normalize_phone("+49 30 1234567 ext. 12") == "+49301234567"
    assert normalize_phone("12") is None and normalize_phone(None) is None
    assert phone_index("+1 555 010 0199") == phone_index(PHONE) != phone_index("+1 555 0100")


def test_database_holds_no_plaintext_and_permitted_roles_read_it(client, personas, clean_db):
    rep, analyst = personas["rep"]["headers"], personas["analyst"]["headers"]
    first = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Ada", "last_name": "Byron", "phone": PHONE}).json()
    (stored, index), = _raw(clean_db, "select phone, phone_index from app.contacts")
    assert stored.startswith("v1:") and "555" not in stored and "0199" not in stored
    assert index == phone_index(PHONE) and len(index) == 64

    assert client.get(f"/api/v1/contacts/{first['id']}", headers=rep).json()["phone"] == PHONE
    hidden = client.get(f"/api/v1/contacts/{first['id']}", headers=analyst).json()
    assert hidden["phone"] is None and "phone" in hidden["hidden_fields"]

    # the same number written another way: a duplicate warning, and found by search
    second = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Augusta", "last_name": "King", "phone": "001 555 0100199"})
    assert [(d["contact_id"], d["similarity"]) for d in second.json()["duplicates"]] == [
        (first["id"], 1.0)]
    found = client.get("/api/v1/contacts", params={"q": "+1 555 010 0199"}, headers=rep)
    assert sorted(i["id"] for i in found.json()["items"]) == sorted(
        [first["id"], second.json()["id"]])
    assert client.get("/api/v1/contacts", params={"q": "+1 555 010 0199"},
                      headers=analyst).json()["items"] == []  # may not probe hidden phones

    contract_id = _won_contract(client, rep)
    (value,), = _raw(clean_db, "select value from app.contracts where id = :i", i=contract_id)
    assert value.startswith("v1:") and "12000" not in value
    with Session(clean_db) as session:
        assert session.get(Contract, contract_id).value == Decimal("12000.00")


def test_form_capture_seals_the_phone_and_logs_nothing_sensitive(client, personas, clean_db,
                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statements and params
    try:
        r = client.post("/api/v1/forms/demo/submissions", json={
            "submission_id": "sealed-1", "fields": {
                "email": "grace.hopper@navy.example", "first_name": "Grace",
                "last_name": "Hopper", "phone": "+1 202 555 0147"}})
        assert r.status_code in (200, 201, 202), r.text
        _won_contract(client, personas["rep"]["headers"])
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert any("insert into app.contacts" in m.lower() for m in caplog.messages)  # logs on
    logged = "\n".join(caplog.messages) + "\n".join(str(rec.args) for rec in caplog.records)
    for secret in ("555 0147", "5550147", "grace.hopper", "12000"):
        assert secret not in logged
    (stored, index), = _raw(clean_db, "select phone, phone_index from app.contacts")
    assert stored.startswith("v1:") and index == phone_index("+1 202 555 0147")


def test_note_bodies_are_sealed_and_open_for_who_may_read_them(client, personas, clean_db):
    rep, analyst = personas["rep"]["headers"], personas["analyst"]["headers"]
    contact = client.post("/api/v1/contacts", headers=rep, json={"last_name": "Noted"}).json()
    url = f"/api/v1/contacts/{contact['id']}/notes"
    secret = "Divorce pending; careful."
    note = client.post(url, json={"body": secret, "is_private": True}, headers=rep)
    assert note.status_code == 201 and note.json()["body"] == secret
    (stored,), = _raw(clean_db, "select body from app.notes")
    assert stored.startswith("v1:") and "Divorce" not in stored and "careful" not in stored
    assert [n["body"] for n in client.get(url, headers=rep).json()["items"]] == [secret]
    assert [n["body"] for n in client.get(url, headers=analyst).json()["items"]] == [None]


@pytest.fixture
def env_keys(monkeypatch):
    """Keys from SALESOPS_FIELD_KEYS for this test; the process keyring read again after."""
    def use(active: str, keys: dict[str, bytes]) -> FieldCipher:
        monkeypatch.setenv(crypto.KEYS_ENV, json.dumps(
            {"active": active, "keys": {k: crypto._b64(v) for k, v in keys.items()}}))
        crypto.process_cipher.cache_clear()
        return crypto.process_cipher()
    yield use
    monkeypatch.delenv(crypto.KEYS_ENV, raising=False)
    crypto.process_cipher.cache_clear()


def test_rotation_re_encrypts_phones_contract_values_and_notes(clean_db, env_keys):
    old = env_keys("a", {"a": b"a" * 32})
    with Session(clean_db) as session, session.begin():
        deal_id = session.execute(sa.text("""
            with p as (insert into app.pipelines (name) values ('P') returning id),
            s as (insert into app.pipeline_stages (pipeline_id, name, position, probability,
                  forecast_category) select id, 'S', 1, 10, 'pipeline' from p returning id)
            insert into app.sales_pipeline (name, pipeline_id, stage_id)
            select 'D', p.id, s.id from p, s returning id""")).scalar()
        contact = Contact(last_name="R", phone=PHONE)
        session.add_all([contact, Contract(deal_id=deal_id, value=Decimal("99.50"))])
        session.flush()
        session.add(Note(contact_id=contact.id, body="private words", is_private=True))
    before = _raw(clean_db, "select phone_index from app.contacts")

    new = env_keys("b", {"a": b"a" * 32, "b": b"b" * 32})
    assert crypto.rotate(clean_db, new) == 3
    stored = _raw(clean_db, "select phone from app.contacts union all "
                            "select value from app.contracts union all select body from app.notes")
    assert {FieldCipher.key_id(v) for (v,) in stored} == {"b"} != {old.active}
    with Session(clean_db) as session:
        assert session.scalars(sa.select(Contact.phone)).one() == PHONE
        assert session.scalars(sa.select(Contract.value)).one() == Decimal("99.50")
        assert session.scalars(sa.select(Note.body)).one() == "private words"
    assert _raw(clean_db, "select phone_index from app.contacts") == before  # still matches
    assert crypto.rotate(clean_db, new) == 0
