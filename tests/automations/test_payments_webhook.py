"""The payment-status webhook in: signed by the financial system, replay-safe, out-of-order
safe; a bad signature is a 401 that is logged and audited."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from salesops.automation.finance import sign
from salesops.security import SecuritySettings
from salesops.security.crypto import process_cipher
from salesops.settings import Settings

SECRET = "payments-shared-secret"
URL = "/api/v1/webhooks/finance/payments"


@pytest.fixture
def client(clean_db, database_url, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SALESOPS_FINANCE_PAYMENTS_SECRET", SECRET)
    security = SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024,
                                argon2_parallelism=1,
                                redis_prefix=f"test-{uuid.uuid4().hex[:10]}")
    app = create_app(database_url, redis_url, settings=Settings(data_dir=tmp_path),
                     security=security)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def contract(clean_db) -> int:
    """A won deal's contract, pushed to the financial system as invoice INV-9."""
    with clean_db.begin() as conn:
        q = lambda sql, **p: conn.execute(sa.text(sql), p).scalar()  # noqa: E731
        pipeline = q("insert into app.pipelines (name) values ('Sales') returning id")
        stage = q("insert into app.pipeline_stages (pipeline_id, name, position, probability, "
                  "forecast_category, is_closed, is_won) values (:p, 'Won', 9, 100, 'closed', "
                  "true, true) returning id", p=pipeline)
        deal = q("insert into app.sales_pipeline (name, pipeline_id, stage_id, amount, is_won, "
                 "closed_at) values ('ACME', :p, :s, 1200, true, now()) returning id",
                 p=pipeline, s=stage)
        value = process_cipher().seal("1200", "app.contracts.value")  # sealed at rest
        return q("insert into app.contracts (deal_id, value, status, external_ref) values "
                 "(:d, :v, 'sent', 'INV-9') returning id", d=deal, v=value)


def post(client: TestClient, body: dict, *, key: str | None = None, secret: str = SECRET,
         at: int | None = None):
    raw = json.dumps(body).encode()
    ts = at if at is not None else int(time.time())
    return client.post(URL, content=raw, headers={
        "Content-Type": "application/json", "Idempotency-Key": key or uuid.uuid4().hex,
        "X-Salesops-Timestamp": str(ts), "X-Salesops-Signature": sign(secret, ts, raw)})


def paid(occurred_at: str = "2026-11-26T10:00:00Z", status: str = "paid") -> dict:
    return {"type": "invoice.payment_status", "invoice_id": "INV-9", "status": status,
            "amount_paid": "1200.00", "currency": "USD", "paid_at": occurred_at,
            "occurred_at": occurred_at}


def state(engine: sa.Engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("""
            select (select payment_status from app.contracts) as payment_status,
                   (select amount_paid::text from app.contracts) as amount_paid,
                   (select count(*) from app.events
                    where topic = 'contract.payment_updated') as events,
                   (select count(*) from app.audit_logs where entity = 'contracts') as audits,
                   (select status from app.financial_integrations) as integration,
                   (select count(*) from app.integration_sync_runs
                    where direction = 'pull') as pulls""")).mappings().one())


def test_a_signed_update_sets_the_payment_status_once(client, clean_db, contract):
    first = post(client, paid(), key="pay-1")
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "applied", "contract_id": contract,
                            "payment_status": "paid"}
    assert state(clean_db) == {"payment_status": "paid", "amount_paid": "1200.00",
                               "events": 1, "audits": 1, "integration": "succeeded",
                               "pulls": 1}
    again = post(client, paid(), key="pay-1")  # the sender retries: nothing changes
    assert again.json()["status"] == "duplicate"
    assert state(clean_db)["events"] == 1
    reused = post(client, paid(status="refunded"), key="pay-1")
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"


def test_an_older_update_arriving_late_is_not_applied(client, clean_db, contract):
    assert post(client, paid("2026-11-26T10:00:00Z")).json()["status"] == "applied"
    late = post(client, paid("2026-11-25T09:00:00Z", status="overdue"))
    assert late.json() == {"status": "stale", "contract_id": contract,
                           "payment_status": "paid"}
    assert state(clean_db)["payment_status"] == "paid"


@pytest.mark.parametrize("how", ["wrong secret", "old timestamp", "tampered body",
                                 "no signature"])
def test_bad_signatures_are_rejected_logged_and_audited(client, clean_db, contract, caplog,
                                                        how):
    caplog.set_level(logging.WARNING, logger="salesops.automation.payments")
    if how == "wrong secret":
        r = post(client, paid(), secret="guess")
    elif how == "old timestamp":  # a captured request replayed later
        r = post(client, paid(), at=int(time.time()) - 3600)
    else:
        raw = json.dumps(paid()).encode()
        ts = int(time.time())
        headers = {"Idempotency-Key": "k", "X-Salesops-Timestamp": str(ts)}
        if how == "tampered body":
            headers["X-Salesops-Signature"] = sign(SECRET, ts, raw)
            raw = raw.replace(b"1200.00", b"9.00")
        r = client.post(URL, content=raw, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "bad_signature"
    assert "webhook rejected" in caplog.text
    assert state(clean_db)["payment_status"] == "unpaid"
    with clean_db.connect() as conn:
        assert conn.execute(sa.text(
            "select action, entity_id, after->>'reason' from app.audit_logs")).one() == \
            ("webhook_rejected", "finance.payments", "bad signature or stale timestamp")


def test_bad_bodies_and_unknown_invoices_say_what_to_do(client, contract):
    bad = post(client, {**paid(), "status": "maybe"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]
    unnamed = post(client, {k: v for k, v in paid().items() if k != "invoice_id"})
    assert unnamed.status_code == 422 and "invoice_id" in unnamed.json()["detail"]
    unknown = post(client, {**paid(), "invoice_id": "INV-404"})
    assert unknown.status_code == 404 and "INV-404" in unknown.json()["detail"]
    # a 404 keeps no receipt: the same key is taken once the invoice is known
    key = "pay-later"
    assert post(client, {**paid(), "invoice_id": "INV-404"}, key=key).status_code == 404
    assert post(client, paid(), key=key).json()["status"] == "applied"
