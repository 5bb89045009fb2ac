"""Lead capture: contact matching by app.normalize_email, consent, idempotency, one event,
all in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain.errors import InvalidInput
from salesops.domain.leads import capture_lead
from salesops.models import Contact

CONSENT_AT = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def submission(**overrides):
    values = dict(email="Ann.Lee+webinar@Example.COM ", first_name="Ann", last_name="Lee",
                  company="Acme GmbH", phone="+49 30 1234567", job_title="Head of Sales",
                  utm={"source": "google", "medium": "cpc", "campaign": "spring", "term": ""},
                  consent={"given": True, "text": "Send me news.", "at": CONSENT_AT},
                  form_key="demo-request", submission_id="sub-1", message="Call me")
    return {**values, **overrides}


def capture(engine, **overrides):
    with Session(engine) as session, session.begin():
        lead = capture_lead(session, **submission(**overrides))
        return lead.id


def counts(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select (select count(*) from app.contacts), (select count(*) from app.leads), "
            "(select count(*) from app.events), (select count(*) from app.contact_sources)"
        )).one()


def test_capture_creates_contact_lead_and_one_event(clean_db):
    lead_id = capture(clean_db)
    assert counts(clean_db) == (1, 1, 1, 1)
    with clean_db.connect() as conn:
        contact = conn.execute(sa.text("select * from app.contacts")).mappings().one()
        lead = conn.execute(sa.text("select * from app.leads")).mappings().one()
        event = conn.execute(sa.text("select * from app.events")).mappings().one()
    assert contact["email"] == "Ann.Lee+webinar@Example.COM"
    assert contact["email_normalized"] == "ann.lee@example.com"  # the SQL rule's answer
    assert (contact["first_name"], contact["title"], contact["source"]) == \
        ("Ann", "Head of Sales", "webforms")
    assert (contact["marketing_consent"], contact["consent_text"], contact["consent_at"]) == \
        (True, "Send me news.", CONSENT_AT)
    assert lead["id"] == lead_id and lead["contact_id"] == contact["id"]
    assert (lead["source"], lead["source_key"], lead["status"]) == ("webforms", "sub-1", "new")
    assert lead["utm"] == {"source": "google", "medium": "cpc", "campaign": "spring"}
    assert lead["custom_fields"] == {"form_key": "demo-request", "message": "Call me"}
    assert (event["topic"], event["aggregate_type"], event["aggregate_id"]) == \
        ("lead.created", "lead", str(lead_id))
    assert event["payload"]["contact_created"] is True


def test_same_person_matches_by_normalised_email_and_fills_only_blanks(clean_db):
    capture(clean_db, phone=None)
    capture(clean_db, email="ann.lee@example.com", first_name="Mallory", phone="555-0100",
            submission_id="sub-2")
    assert counts(clean_db) == (1, 2, 2, 2)
    with clean_db.connect() as conn:
        first_name, phone = conn.execute(sa.select(Contact.first_name, Contact.phone)).one()
    assert (first_name, phone) == ("Ann", "555-0100")  # the model's column opens the seal


def test_resubmitting_the_same_submission_is_idempotent(clean_db):
    first = capture(clean_db)
    again = capture(clean_db)
    assert first == again
    assert counts(clean_db) == (1, 1, 1, 1)
    changed = capture(clean_db, company="Acme AG")
    assert changed == first
    with clean_db.connect() as conn:
        topics = conn.execute(sa.text("select topic from app.events order by id")).scalars()
        assert list(topics) == ["lead.created", "lead.updated"]
        assert conn.execute(sa.text("select company, version from app.leads")).one() == \
            ("Acme AG", 2)


@pytest.mark.parametrize("email", ["not-an-email", "", "   ", "a@b", "two@@example.com"])
def test_invalid_email_is_rejected_and_nothing_is_stored(clean_db, email):
    with pytest.raises(InvalidInput) as err:
        capture(clean_db, email=email)
    assert err.value.code == "invalid_email" and err.value.field == "email"
    assert counts(clean_db) == (0, 0, 0, 0)


def test_unticked_consent_does_not_withdraw_earlier_consent(clean_db):
    capture(clean_db)
    capture(clean_db, submission_id="sub-2",
            consent={"given": False, "text": "Send me news.", "at": None})
    with clean_db.connect() as conn:
        assert conn.execute(sa.text(
            "select marketing_consent, consent_at from app.contacts")).one() == (True, CONSENT_AT)


def test_declined_consent_is_recorded_with_its_text(clean_db):
    capture(clean_db, consent={"given": False, "text": "Send me news."})
    with clean_db.connect() as conn:
        consent, text, at = conn.execute(sa.text(
            "select marketing_consent, consent_text, consent_at from app.contacts")).one()
    assert (consent, text) == (False, "Send me news.") and at is not None


def test_a_failure_after_the_lead_insert_leaves_nothing(clean_db):
    with pytest.raises(RuntimeError), Session(clean_db) as session, session.begin():
        capture_lead(session, **submission())
        session.flush()
        assert counts_in(session) == (1, 1, 1, 1)  # all written, in this transaction
        raise RuntimeError("something after the capture failed")
    assert counts(clean_db) == (0, 0, 0, 0)


def counts_in(session):
    return session.execute(sa.text(
        "select (select count(*) from app.contacts), (select count(*) from app.leads), "
        "(select count(*) from app.events), (select count(*) from app.contact_sources)")).one()


def test_a_merged_away_contact_is_not_matched(clean_db):
    capture(clean_db)
    with clean_db.begin() as conn:
        survivor = conn.execute(sa.text(
            "insert into app.contacts (email, email_normalized) values ('x@example.com', "
            "'x@example.com') returning id")).scalar()
        conn.execute(sa.text("update app.contacts set merged_into_id = :s "
                             "where email_normalized = 'ann.lee@example.com'"), {"s": survivor})
    capture(clean_db, submission_id="sub-2")
    with clean_db.connect() as conn:
        assert conn.execute(sa.text(
            "select count(*) from app.contacts where email_normalized = 'ann.lee@example.com' "
            "and merged_into_id is null")).scalar() == 1


def test_concurrent_submissions_for_one_person_make_one_contact(clean_db):
    import threading

    results: dict[str, int] = {}
    with Session(clean_db) as first, first.begin():
        results["first"] = capture_lead(first, **submission()).id

        def second():  # blocks on the unique index until the first transaction commits
            results["second"] = capture(clean_db, submission_id="sub-2")

        t = threading.Thread(target=second)
        t.start()
        t.join(0.5)
        assert t.is_alive()
    t.join(10)
    assert counts(clean_db) == (1, 2, 2, 2)
    assert results["first"] != results["second"]
