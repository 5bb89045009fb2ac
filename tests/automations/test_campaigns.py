"""Campaign execution end to end against a real SMTP server: audience at send time,
personalisation, consent, retries, a killed worker, an empty segment, engagement to raw."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation import campaigns
from salesops.automation.campaigns import (
    launch_campaign,
    run_due_campaigns,
    send_campaign,
    start_campaign,
)
from salesops.automation.engagement import load_engagement, record_engagement
from salesops.automation.tracking import Tracker
from salesops.domain.errors import InvalidInput
from salesops.mailer import Mailer
from tests.automations.helpers import (
    AUDIENCE_MQL,
    BASE_URL,
    SECRET,
    add_campaign,
    add_contacts,
    add_user,
    free_port,
    mail_settings,
    wait_for,
)

BODY = ("<p>Hi {{ first_name or 'there' }} at {{ company or 'your team' }},</p>"
        "<p><a href=\"{{ link('https://example.com/offer?x=1') }}\">See the offer</a></p>"
        "<p><a href=\"{{ unsubscribe_url }}\">Stop these emails</a></p>")
AUDIENCE = AUDIENCE_MQL


def _people(engine, n: int = 3, **extra) -> list[int]:
    return add_contacts(engine, [{"first_name": f"P{i}", "email": f"p{i}@example.com",
                                  "stage": "mql", **extra} for i in range(n)])


def _statuses(engine, campaign_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "select status, count(*) from app.campaign_deliveries where campaign_id = :c "
            "group by status"), {"c": campaign_id}).all())


def _campaign_status(engine, campaign_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("select status from app.marketing_campaigns where id=:c"),
                            {"c": campaign_id}).scalar_one()


def test_campaign_sends_personalised_mail_to_its_segment_and_honours_consent(
        clean_db, smtp, tracker):
    inbox, port = smtp
    _people(clean_db, 2)
    add_contacts(clean_db, [
        {"first_name": "Opted", "email": "out@example.com", "stage": "mql", "opt_out": True},
        {"first_name": "Nocon", "email": "nocon@example.com", "stage": "sql", "consent": None},
        {"first_name": "Cust", "email": "cust@example.com", "stage": "customer"},
        {"first_name": "<b>Evil</b>", "email": "evil@example.com", "stage": "sql"},
    ])
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY)
    with Mailer(mail_settings(port)) as mailer:
        [(audience, result)] = list(run_due_campaigns(clean_db, mailer, tracker))
    assert (audience.queued, audience.suppressed) == (3, 2)
    assert (result.sent, result.failed, result.completed) == (3, 0, True)
    assert _statuses(clean_db, campaign_id) == {"sent": 3, "suppressed": 2}
    assert _campaign_status(clean_db, campaign_id) == "completed"
    assert sorted(m["To"] for m in inbox.messages) == [
        "\"<b>Evil</b>\" <evil@example.com>", "P0 <p0@example.com>", "P1 <p1@example.com>"]
    evil = next(m for m in inbox.messages if "evil" in m["To"])
    html = evil.get_body(("html",)).get_content()
    text = evil.get_body(("plain",)).get_content()
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html and "<b>Evil</b>" not in html  # autoescaped
    assert "Hi <b>Evil</b> at your team" in text
    assert f"{BASE_URL}/api/v1/t/c/" in html and "/api/v1/t/o/" in html
    assert "https://example.com/offer?x=1" in text  # plain text keeps the real link
    assert evil["List-Unsubscribe"].strip().startswith(f"<{BASE_URL}/api/v1/t/u/")
    assert evil["Subject"] == "Hello <b>Evil</b>"
    # a second run sends nothing more
    with Mailer(mail_settings(port)) as mailer:
        assert list(run_due_campaigns(clean_db, mailer, tracker)) == []
    assert len(inbox.messages) == 3


def test_audience_is_resolved_when_the_campaign_starts_not_when_it_is_saved(
        clean_db, smtp, tracker):
    inbox, port = smtp
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY, status="draft")
    _people(clean_db, 2)  # they arrive after the campaign was set up
    with Session(clean_db) as session, session.begin():
        launch_campaign(session, campaign_id)
    with Mailer(mail_settings(port)) as mailer:
        [(audience, result)] = list(run_due_campaigns(clean_db, mailer, tracker))
    assert audience.queued == result.sent == len(inbox.messages) == 2


def test_a_segment_matching_no_one_completes_with_no_mail(clean_db, smtp, tracker):
    inbox, port = smtp
    _people(clean_db, 2)
    campaign_id = add_campaign(clean_db, {"field": "title", "op": "eq", "value": "Pope"}, BODY)
    with Mailer(mail_settings(port)) as mailer:
        [(audience, result)] = list(run_due_campaigns(clean_db, mailer, tracker))
    assert (audience.queued, audience.suppressed, result.sent) == (0, 0, 0)
    assert result.completed and _campaign_status(clean_db, campaign_id) == "completed"
    assert inbox.messages == []


def test_a_segment_matching_a_million_contacts_is_queued_in_the_database(clean_db):
    """The audience is resolved set-based: a million recipients are queued without their
    rows passing through Python (the peak allocation stays small)."""
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "insert into app.contacts (email, email_normalized, lifecycle_stage, "
            "marketing_consent) select 'm' || i || '@example.com', 'm' || i || '@example.com', "
            "case when i % 10 = 0 then 'customer' else 'mql' end, i % 100 <> 1 "
            "from generate_series(1, 1000000) i"))
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY)
    tracemalloc.start()
    try:
        audience = start_campaign(clean_db, campaign_id)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 900,000 in the segment; its 10,000 without consent are kept as suppressed, not dropped
    assert (audience.queued, audience.suppressed) == (890_000, 10_000)
    assert _statuses(clean_db, campaign_id) == {"queued": 890_000, "suppressed": 10_000}
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB allocated resolving the audience"


def test_a_template_that_cannot_render_is_refused_before_anything_is_sent(clean_db, smtp):
    _people(clean_db, 1)
    campaign_id = add_campaign(clean_db, AUDIENCE, "Hi {{ no_such_field }}", status="draft")
    with Session(clean_db) as session, session.begin(), \
            pytest.raises(InvalidInput, match="no_such_field"):
        launch_campaign(session, campaign_id)
    sandbox_escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    campaign_id = add_campaign(clean_db, AUDIENCE, sandbox_escape, name="escape")
    with pytest.raises(InvalidInput, match="cannot be rendered"):
        start_campaign(clean_db, campaign_id)
    assert _statuses(clean_db, campaign_id) == {}


def test_smtp_down_then_back_sends_everyone_once(clean_db, smtp, tracker):
    inbox, port = smtp
    _people(clean_db, 4)
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY)
    start_campaign(clean_db, campaign_id)
    with Mailer(mail_settings(free_port(), max_attempts=2)) as mailer:
        down = send_campaign(clean_db, campaign_id, mailer, tracker)
    assert (down.sent, down.failed, down.completed) == (0, 1, False)
    assert _statuses(clean_db, campaign_id) == {"failed": 1, "queued": 3}
    with Mailer(mail_settings(port)) as mailer:
        up = send_campaign(clean_db, campaign_id, mailer, tracker)
    assert (up.sent, up.completed) == (4, True)
    assert len(inbox.ids()) == len(set(inbox.ids())) == 4


def test_a_slow_server_gets_the_same_message_id_on_retry(clean_db, smtp, tracker):
    """The client gives up waiting while the server still accepts: the retry may deliver
    a second copy, but always under the first one's Message-ID."""
    inbox, port = smtp
    _people(clean_db, 1)
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY)
    start_campaign(clean_db, campaign_id)
    inbox.delay_seconds = 0.6
    with Mailer(mail_settings(port, timeout_seconds=0.3, max_attempts=1)) as mailer:
        assert send_campaign(clean_db, campaign_id, mailer, tracker).failed == 1
    wait_for(lambda: len(inbox.messages) == 1)
    inbox.delay_seconds = 0
    with Mailer(mail_settings(port)) as mailer:
        assert send_campaign(clean_db, campaign_id, mailer, tracker).sent == 1
    assert len(inbox.ids()) == 2 and len(set(inbox.ids())) == 1
    assert _statuses(clean_db, campaign_id) == {"sent": 1}


def test_a_worker_killed_mid_run_is_resumed_without_duplicates(clean_db, smtp, database_url):
    inbox, port = smtp
    n = 12
    _people(clean_db, n)
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY)
    start_campaign(clean_db, campaign_id)
    worker = textwrap.dedent(f"""
        from salesops.automation.campaigns import send_campaign
        from salesops.automation.tracking import Tracker
        from salesops.db import get_engine
        from salesops.mailer import Mailer, MailSettings
        settings = MailSettings(_env_file=None, smtp_port={port}, max_per_second=5)
        with Mailer(settings) as mailer:
            send_campaign(get_engine({database_url!r}), {campaign_id}, mailer,
                          Tracker({SECRET!r}, {BASE_URL!r}), batch_size=4)
    """)
    proc = subprocess.Popen([sys.executable, "-c", worker], env=os.environ.copy())
    wait_for(lambda: len(inbox.messages) >= 3, timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(inbox.messages)
    assert 3 <= before < n
    statuses = _statuses(clean_db, campaign_id)
    assert statuses.get("sending", 0) >= 1  # its claims were left behind
    # the next run, once the dead worker's lease is over
    with Mailer(mail_settings(port, lease_seconds=0)) as mailer:
        result = send_campaign(clean_db, campaign_id, mailer, Tracker(SECRET, BASE_URL),
                               now=datetime.now(UTC) + timedelta(seconds=1))
    assert result.completed and _statuses(clean_db, campaign_id) == {"sent": n}
    ids = inbox.ids()
    assert len(set(ids)) == n  # everyone got it
    # a copy only of the one message that was in flight when the worker died
    assert len(ids) - n <= 1


def test_engagement_is_recorded_once_and_loaded_into_raw(clean_db, smtp, tracker):
    inbox, port = smtp
    [contact_id] = _people(clean_db, 1)
    add_campaign(clean_db, AUDIENCE, BODY)
    with Mailer(mail_settings(port)) as mailer:
        list(run_due_campaigns(clean_db, mailer, tracker))
    with clean_db.connect() as conn:
        delivery_id = conn.execute(sa.text("select id from app.campaign_deliveries")).scalar()
    with Session(clean_db) as session, session.begin():
        record_engagement(session, delivery_id, "open")
        record_engagement(session, delivery_id, "click", "https://example.com/offer?x=1")
        record_engagement(session, delivery_id, "unsubscribe")
    assert load_engagement(clean_db) == 2
    assert load_engagement(clean_db) == 0
    with clean_db.connect() as conn:
        rows = conn.execute(sa.text(
            "select record->>'event_type', record->>'email', record->>'campaign', "
            "record->>'channel', record->>'page_url' from raw.touchpoints__events "
            "order by id")).all()
        opted_out = conn.execute(sa.text("select email_opt_out from app.contacts where id=:c"),
                                 {"c": contact_id}).scalar()
        unsubscribed = conn.execute(sa.text(
            "select aggregate_id from app.events where topic = 'contact.unsubscribed'")).all()
    assert [r[0] for r in rows] == ["email_open", "email_click"]
    assert {r[1] for r in rows} == {"p0@example.com"}
    assert {r[2] for r in rows} == {"Spring launch"} and {r[3] for r in rows} == {"email"}
    assert rows[1][4] == "https://example.com/offer?x=1"
    assert opted_out is True and unsubscribed == [(str(contact_id),)]
    # the next campaign to the same segment suppresses the unsubscribed contact
    second = add_campaign(clean_db, AUDIENCE, BODY, name="Summer")
    assert campaigns.start_campaign(clean_db, second).suppressed == 1


def test_a_broken_campaign_is_paused_with_its_owner_told_and_imports_are_left_alone(
        clean_db, smtp, tracker):
    inbox, port = smtp
    _people(clean_db, 2)
    with Session(clean_db) as session, session.begin():
        owner = add_user(session, "mo@example.com", "Mo Marketing", "marketing_manager")
    broken = add_campaign(clean_db, AUDIENCE_MQL, "Hi {{ nobody }}", name="Broken")
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.marketing_campaigns set owner_id = :o"), {"o": owner})
        # a campaign imported from the CRM: running, no template
        conn.execute(sa.text("insert into app.marketing_campaigns (name, status, source, "
                             "source_key) values ('Imported', 'running', 'salesforce', 'C1')"))
    with Mailer(mail_settings(port)) as mailer:
        [(audience, result)] = list(run_due_campaigns(clean_db, mailer, tracker))
    assert audience is None and result.campaign_id == broken and "nobody" in result.errors[0]
    assert _campaign_status(clean_db, broken) == "draft" and inbox.messages == []
    with clean_db.connect() as conn:
        title = conn.execute(sa.text("select title from app.notifications where user_id = :o"),
                             {"o": owner}).scalar()
    assert title == "Campaign paused: Broken"
    # fixed and launched again: it resumes, and the next run has nothing left to do
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.communication_templates set body = 'Hi {{ email }}'"))
    with Session(clean_db) as session, session.begin():
        launch_campaign(session, broken)
    with Mailer(mail_settings(port)) as mailer:
        [(_, result)] = list(run_due_campaigns(clean_db, mailer, tracker))
        assert list(run_due_campaigns(clean_db, mailer, tracker)) == []
    assert result.sent == 2 and len(inbox.messages) == 2


def test_a_campaign_cancelled_mid_run_stops_being_sent(clean_db, smtp, tracker):
    inbox, port = smtp
    _people(clean_db, 4)
    campaign_id = add_campaign(clean_db, AUDIENCE, BODY)
    assert start_campaign(clean_db, campaign_id).queued == 4

    class CancelledAfterFirst(Mailer):
        """A real SMTP mailer whose first send is followed by someone cancelling."""

        def send(self, msg, **kwargs):
            super().send(msg, **kwargs)
            with clean_db.begin() as conn:
                conn.execute(sa.text("update app.marketing_campaigns set status = 'cancelled' "
                                     "where id = :c"), {"c": campaign_id})

    with CancelledAfterFirst(mail_settings(port)) as mailer:
        result = send_campaign(clean_db, campaign_id, mailer, tracker, batch_size=1)
    assert (result.sent, result.completed) == (1, False)
    assert len(inbox.messages) == 1
    assert _statuses(clean_db, campaign_id) == {"sent": 1, "queued": 3}
    assert _campaign_status(clean_db, campaign_id) == "cancelled"
    with Mailer(mail_settings(port)) as mailer:  # later runs leave it alone too
        assert list(run_due_campaigns(clean_db, mailer, tracker)) == []
        assert send_campaign(clean_db, campaign_id, mailer, tracker).sent == 0
    assert len(inbox.messages) == 1
