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


def test_capture_leaves_an_audit_entry_and_a_known_contact_changes_only_when_it_must(
        clean_db):
    with Session(clean_db) as session, session.begin():
        lead = capture_lead(session, **submission(), request_id="req-1", ip="198.51.100.7")
    assert (lead.outcome, lead.owner_id) == ("created", None)
    capture(clean_db, submission_id="sub-2")  # the same person and consent: nothing to fill
    capture(clean_db, submission_id="sub-2", company="Acme AG")  # a changed re-submission
    with clean_db.connect() as conn:
        audits = conn.execute(sa.text(
            "select user_id, action, entity, entity_id, before, after, request_id, "
            "host(ip) from app.audit_logs order by id")).all()
        version = conn.execute(sa.text("select version from app.contacts")).scalar_one()
    assert [a.action for a in audits] == ["capture_created", "capture_created",
                                          "capture_updated"]
    first = audits[0]
    assert (first.user_id, first.entity, first.entity_id, first.before) == \
        (None, "leads", str(lead.id), None)
    assert (first.request_id, first[7]) == ("req-1", "198.51.100.7")
    assert first.after["contact_id"] == lead.contact_id and first.after["owner_id"] is None
    assert first.after["custom_fields"]["form_key"] == "demo-request"
    assert (audits[2].before, audits[2].after) == \
        ({"company": "Acme GmbH"}, {"company": "Acme AG", "owner_id": None})
    assert version == 1  # matched twice, never updated: nothing was blank or new


def test_a_known_contact_gets_its_blanks_and_new_consent_with_a_new_version(clean_db):
    capture(clean_db, phone=None, job_title=None, consent=None)
    capture(clean_db, submission_id="sub-2", first_name="Mallory", job_title="CEO",
            consent={"given": True, "text": "Other wording.", "at": None})
    with clean_db.connect() as conn:
        row = conn.execute(sa.select(Contact.first_name, Contact.title, Contact.phone,
                                     Contact.marketing_consent, Contact.consent_text,
                                     Contact.consent_at, Contact.version)).one()
    assert row[:5] == ("Ann", "CEO", "+49 30 1234567", True, "Other wording.")
    assert row.consent_at is not None and row.version == 2


def test_the_capture_statement_fits_psycopgs_statement_cache():
    """psycopg keeps its parse of a statement's placeholders only up to a length; past it,
    every capture would parse the statement again."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH  # not public; the limit itself
    from sqlalchemy.dialects.postgresql import psycopg as dialect

    from salesops.domain.leads import _CAPTURE

    sent = str(_CAPTURE.clause.compile(dialect=dialect.dialect()))
    assert len(sent.encode()) <= MAX_CACHED_STATEMENT_LENGTH
