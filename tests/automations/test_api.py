"""The API side: tracking links (signed, no open redirect) and the notification feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from salesops.automation.campaigns import run_due_campaigns
from salesops.automation.engagement import load_engagement
from salesops.automation.reminders import dispatch_due_reminders
from salesops.automation.tracking import Tracker
from salesops.domain.users import create_user
from salesops.mailer import Mailer
from salesops.models import Reminder
from salesops.security import SecuritySettings
from salesops.settings import Settings
from tests.automations.helpers import AUDIENCE_MQL, add_campaign, add_contacts, mail_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def security() -> SecuritySettings:
    return SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1,
                            redis_prefix=f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def client(clean_db, database_url, redis_url, security, tracker, tmp_path):
    app = create_app(database_url, redis_url, settings=Settings(data_dir=tmp_path),
                     security=security)
    app.state.tracker = tracker
    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def sent_mail(clean_db, smtp, tracker):
    """One campaign email sent to p0@example.com, as the server received it."""
    inbox, port = smtp
    add_contacts(clean_db, [{"first_name": "P0", "email": "p0@example.com", "stage": "mql"}])
    add_campaign(clean_db, AUDIENCE_MQL,
                 "<a href=\"{{ link('https://example.com/pricing') }}\">Pricing</a>")
    with Mailer(mail_settings(port)) as mailer:
        list(run_due_campaigns(clean_db, mailer, tracker))
    [message] = inbox.messages
    return message


def _links(message) -> dict[str, str]:
    import re

    html = message.get_body(("html",)).get_content()
    urls = re.findall(r'(?:href|src)="http://testserver([^"]+)"', html)
    return {kind: next(u for u in urls if f"/t/{kind}/" in u) for kind in ("o", "c", "u")}


def _delivery(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "select d.opened_at, d.clicked_at, d.unsubscribed_at, c.email_opt_out "
            "from app.campaign_deliveries d join app.contacts c on c.id = d.contact_id")
        ).mappings().one())


def test_pixel_click_and_unsubscribe_are_recorded_and_reach_raw(client, sent_mail, clean_db):
    links = _links(sent_mail)
    pixel = client.get(links["o"])
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert pixel.content.startswith(b"GIF89a")
    click = client.get(links["c"])
    assert click.status_code == 302 and click.headers["location"] == "https://example.com/pricing"
    page = client.get(links["u"])
    assert page.status_code == 200 and "<form method='post'" in page.text
    assert _delivery(clean_db)["unsubscribed_at"] is None  # a GET changes nothing
    done = client.post(links["u"], data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "unsubscribed" in done.text
    state = _delivery(clean_db)
    assert state["opened_at"] and state["clicked_at"] and state["unsubscribed_at"]
    assert state["email_opt_out"] is True
    assert load_engagement(clean_db) == 2  # opens and clicks; an unsubscribe is no touch


def test_a_tampered_or_misused_link_is_a_404_and_no_redirect(client, sent_mail):
    links = _links(sent_mail)
    click_token = links["c"].rsplit("/", 1)[1]
    evil = Tracker("not-the-key", "http://testserver").click_url(1, "https://evil.test")
    for url in (evil.removeprefix("http://testserver"),
                links["c"][:-3] + "abc",                  # altered signature
                f"/api/v1/t/o/{click_token}.gif",         # a click token used as a pixel
                "/api/v1/t/c/not-a-token"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "invalid_link"
        assert "location" not in response.headers


def test_notification_feed_lists_and_marks_my_reminders(client, clean_db, security):
    with Session(clean_db) as session, session.begin():
        me = create_user(session, "rita@example.com", "Rita Rep", PASSWORD, "sales_rep",
                         security=security)
        other = create_user(session, "otto@example.com", "Otto Other", PASSWORD, "sales_rep",
                            security=security)
        for user, n in ((me, 3), (other, 1)):
            for i in range(n):
                session.add(Reminder(user_id=user.id, message=f"ping {i}",
                                     remind_at=datetime.now(UTC) - timedelta(minutes=1),
                                     idempotency_key=f"{user.id}-{i}"))
        other_id = other.id
    dispatch_due_reminders(clean_db, sender_domain="example.test")
    token = client.post("/api/v1/auth/login", json={"email": "rita@example.com",
                                                    "password": PASSWORD}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    page = client.get("/api/v1/notifications?limit=2", headers=auth).json()
    assert page["unread"] == 3 and len(page["data"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/notifications?cursor={page['next_cursor']}", headers=auth).json()
    assert [n["body"] for n in page["data"] + rest["data"]] == ["ping 2", "ping 1", "ping 0"]
    assert client.post(f"/api/v1/notifications/{page['data'][0]['id']}/read",
                       headers=auth).status_code == 204
    assert client.get("/api/v1/notifications?unread=true", headers=auth).json()["unread"] == 2
    with clean_db.connect() as conn:
        others = conn.execute(sa.text("select id from app.notifications where user_id=:u"),
                              {"u": other_id}).scalar()
    assert client.post(f"/api/v1/notifications/{others}/read", headers=auth).status_code == 404
    assert client.post("/api/v1/notifications/read", headers=auth).status_code == 204
    assert client.get("/api/v1/notifications", headers=auth).json()["unread"] == 0
    assert client.get("/api/v1/notifications").status_code == 401
