"""POST /api/v1/forms/{form_key}/submissions: lead capture over HTTP."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

URL = "/api/v1/forms/demo-request/submissions"


def submission(**overrides) -> dict:
    body = {
        "submission_id": "3f6d2c1e-0001", "submitted_at": "2025-03-04T10:15:00Z",
        "fields": {"email": " Ann.Lee+Webinar@Example.com", "first_name": "Ann",
                   "last_name": "Lee", "company": "Acme GmbH", "phone": "+49 30 1234567",
                   "job_title": "Head of Sales", "message": "Please call me."},
        "utm": {"source": "google", "medium": "cpc", "campaign": "spring-launch",
                "content": None, "term": None},
        "consent": {"marketing": True, "text": "I agree to receive product news.",
                    "given_at": "2025-03-04T10:15:00Z"},
        "page_url": "https://example.com/demo", "ip": "198.51.100.1", "user_agent": "x",
    }
    return {**body, **overrides}


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select (select count(*) from app.contacts), (select count(*) from app.leads), "
            "(select count(*) from app.events)")).one()


def test_submission_creates_contact_lead_and_one_event(client, clean_db):
    r = client.post(URL, json=submission())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "created" and body["submission_id"] == "3f6d2c1e-0001"
    assert counts(clean_db) == (1, 1, 1)
    with clean_db.connect() as conn:
        lead = conn.execute(sa.text(
            "select l.id, l.source, l.source_key, l.utm, l.custom_fields->>'form_key', "
            "c.email_normalized, c.marketing_consent, c.consent_text "
            "from app.leads l join app.contacts c on c.id = l.contact_id")).one()
        event = conn.execute(sa.text(
            "select topic, aggregate_id from app.events")).one()
    assert lead == (body["lead_id"], "webforms", "3f6d2c1e-0001",
                    {"source": "google", "medium": "cpc", "campaign": "spring-launch"},
                    "demo-request", "ann.lee@example.com", True,
                    "I agree to receive product news.")
    assert event == ("lead.created", str(body["lead_id"]))


def test_resubmission_is_idempotent(client, clean_db):
    first = client.post(URL, json=submission()).json()
    again = client.post(URL, json=submission())
    assert again.status_code == 201 and again.json() == first
    assert counts(clean_db) == (1, 1, 1)


def test_invalid_email_is_a_clear_422(client, clean_db):
    body = submission()
    body["fields"]["email"] = "ann.lee at example"
    r = client.post(URL, json=body)
    assert r.status_code == 422
    error = r.json()
    assert error["code"] == "invalid_email"
    assert "not a valid email address" in error["detail"]
    assert error["errors"][0]["field"] == "email"
    assert counts(clean_db) == (0, 0, 0)
    del body["fields"]["email"]
    missing = client.post(URL, json=body)
    assert missing.status_code == 422 and "fields.email" in missing.json()["detail"]


@pytest.mark.parametrize("where", ["top", "fields"])
def test_honeypot_is_accepted_but_nothing_is_stored(client, clean_db, where):
    body = submission()
    if where == "top":
        body["website"] = "http://spam.example"
    else:
        body["fields"]["website"] = "http://spam.example"
    r = client.post(URL, json=body)
    assert r.status_code == 202
    assert r.json() == {"status": "accepted", "submission_id": "3f6d2c1e-0001",
                        "lead_id": None}
    assert counts(clean_db) == (0, 0, 0)


def test_rate_limit_per_ip(client, app, clean_db):
    for i in range(5):  # the test settings allow 5 a minute
        assert client.post(URL, json=submission(submission_id=f"s{i}")).status_code == 201
    r = client.post(URL, json=submission(submission_id="s5"))
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert counts(clean_db)[1] == 5
    with TestClient(app, client=("203.0.113.99", 50000)) as other:  # another IP is not limited
        assert other.post(URL, json=submission(submission_id="s6")).status_code == 201


def test_bad_form_key_is_rejected(client):
    r = client.post("/api/v1/forms/bad key!/submissions", json=submission())
    assert r.status_code == 422


@pytest.fixture
def events_insert_fails(clean_db):
    """A real database failure after the contact and lead inserts: the event insert
    raises for one form."""
    with clean_db.begin() as conn:
        conn.execute(sa.text("""
            create or replace function app.test_fail_event() returns trigger
            language plpgsql as $$ begin
                if new.payload->>'form_key' = 'explode' then
                    raise exception 'forced failure after the lead insert';
                end if;
                return new;
            end $$;
            create trigger test_fail_event before insert on app.events
                for each row execute function app.test_fail_event();"""))
    yield
    with clean_db.begin() as conn:
        conn.execute(sa.text("drop trigger if exists test_fail_event on app.events; "
                             "drop function if exists app.test_fail_event()"))


def test_a_failure_after_the_lead_insert_stores_nothing(app, clean_db, events_insert_fails):
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/forms/explode/submissions", json=submission())
        assert r.status_code == 500
        assert r.json()["code"] == "internal_error"
        assert r.json()["request_id"] == r.headers["X-Request-ID"]
        assert counts(clean_db) == (0, 0, 0)
        ok = c.post(URL, json=submission(submission_id="fine"))
        assert ok.status_code == 201
    assert counts(clean_db) == (1, 1, 1)
