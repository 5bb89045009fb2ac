"""Segments compile to SQL only through the whitelist; the mailer throttles and retries."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from salesops.automation.segments import audience_query, compile_segment
from salesops.domain.errors import InvalidInput
from salesops.mailer import Mailer, PermanentMailError, build_message
from tests.automations.helpers import add_contacts, mail_settings


def _matches(engine, segment) -> list[str]:
    with engine.connect() as conn:
        return sorted(r.email for r in conn.execute(audience_query(segment)))


def test_segments_filter_contacts_and_their_accounts(clean_db):
    with clean_db.begin() as conn:
        soft = conn.execute(sa.text("insert into app.accounts (name, industry) values "
                                    "('Soft', 'Software') returning id")).scalar()
    add_contacts(clean_db, [
        {"email": "ann@x.io", "stage": "mql", "title": "Head of Sales", "account_id": soft},
        {"email": "bob@x.io", "stage": "sql", "title": "VP_Marketing"},
        {"email": "cy@x.io", "stage": "customer", "title": None},
    ])
    assert _matches(clean_db, {}) == ["ann@x.io", "bob@x.io", "cy@x.io"]
    assert _matches(clean_db, {"field": "account.industry", "op": "eq",
                               "value": "Software"}) == ["ann@x.io"]
    assert _matches(clean_db, {"any": [{"field": "title", "op": "contains", "value": "head"},
                                       {"field": "title", "op": "is_null"}]}) \
        == ["ann@x.io", "cy@x.io"]
    # LIKE wildcards in a value are literal
    assert _matches(clean_db, {"field": "title", "op": "contains", "value": "P_M"}) \
        == ["bob@x.io"]
    assert _matches(clean_db, {"field": "title", "op": "contains", "value": "%"}) == []
    assert _matches(clean_db, {"not": {"field": "lifecycle_stage", "op": "in",
                                       "value": ["mql", "sql"]}}) == ["cy@x.io"]
    assert _matches(clean_db, {"field": "title", "op": "eq",
                               "value": "x'; drop table app.contacts; --"}) == []
    assert len(_matches(clean_db, {})) == 3


@pytest.mark.parametrize("segment, message", [
    ({"field": "password_hash", "op": "eq", "value": "x"}, "unknown field 'password_hash'"),
    ({"field": "title", "op": "regex", "value": ".*"}, "unknown op 'regex'"),
    ({"field": "title", "op": "eq"}, "needs a value"),
    ({"field": "title", "op": "in", "value": []}, "non-empty list"),
    ({"field": "title", "op": "eq", "value": {"$ne": 1}}, "must be a string"),
    ({"all": {"field": "title"}}, "expected a list"),
    ({"sql": "1=1"}, "expected {field, op, value}"),
    (["title"], "expected an object"),
])
def test_a_bad_segment_says_what_is_wrong(segment, message):
    with pytest.raises(InvalidInput, match="audience") as caught:
        compile_segment(segment)
    assert message in caught.value.message


def _message(i: int):
    return build_message("a@example.com", f"r{i}@example.com", "Grüße", "hello",
                         msg_id=f"<{i}@t>")


def test_mailer_throttles_to_its_rate(smtp):
    inbox, port = smtp
    start = time.monotonic()
    with Mailer(mail_settings(port, max_per_second=20)) as mailer:
        for i in range(11):
            mailer.send(_message(i))
    assert time.monotonic() - start >= 0.45  # 10 gaps of 50 ms
    assert len(inbox.messages) == 11 and inbox.messages[0]["Subject"] == "Grüße"


def test_a_permanent_refusal_is_not_retried(smtp):
    inbox, port = smtp
    inbox.answer = "554 5.7.1 rejected"
    with Mailer(mail_settings(port, max_attempts=3)) as mailer, \
            pytest.raises(PermanentMailError, match="554"):
        mailer.send(_message(1))
    inbox.answer = None
    with Mailer(mail_settings(port)) as mailer:
        mailer.send(_message(2))
    assert inbox.ids() == ["<2@t>"]
