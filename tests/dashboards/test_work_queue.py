"""The work queue against the real salesops API (served by uvicorn over the test database,
tests/dashboards/work_api.py), and against an API that is down: plain words, a usable page."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from salesops.domain.errors import AuthenticationFailed
from tests.dashboards.dashboard_app import marts_aside, run_page
from tests.dashboards.work_api import (
    ANALYST,
    EMAIL,
    MANAGER,
    MARKETER,
    PASSWORD,
    ServedApi,
    cheap_security,
    seed,
)

PAGE = "views/work_queue.py"


@pytest.fixture
def queue(clean_db, database_url, redis_url, monkeypatch, tmp_path):
    """Rita Rep's leads and tasks, with the API serving them at SALESOPS_API_URL."""
    security = cheap_security()
    made = seed(clean_db, security)
    with ServedApi(database_url, redis_url, security, tmp_path) as api:
        monkeypatch.setenv("SALESOPS_API_URL", api.url)
        yield made


def log_in(at, email: str = EMAIL, password: str = PASSWORD):
    """Log in through the page's form (as Rita Rep unless `email` says otherwise)."""
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Log in").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def statuses(engine: sa.Engine, table: str, ids: list[int]) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(f"select id, status from app.{table} "
                                         "where id = any(:ids)"), {"ids": ids}).all())


def test_a_wrong_password_says_so_and_keeps_the_form(queue):
    at = log_in(run_page(PAGE), password="wrong password")
    assert [e.value for e in at.error] == [
        f"Login failed: {AuthenticationFailed.default_message}"]
    assert at.text_input(key="login_email").value == EMAIL  # the form is still there
    assert "api_token" not in at.session_state


def test_a_rep_sees_their_open_leads_by_score_and_tasks_overdue_first(queue):
    at = log_in(run_page(PAGE))
    assert "Rita Rep" in " ".join(m.value for m in at.sidebar.markdown)
    assert "sales rep" in " ".join(m.value for m in at.sidebar.markdown)
    assert "login_password" not in at.session_state
    leads, tasks = (d.value for d in at.dataframe)
    # mine, new or working, highest score first: not the other rep's, not the qualified one
    assert leads.id.tolist() == [queue.leads[n] for n in ("high", "mid", "low")]
    assert leads.score.tolist() == [91, 64, 35] and leads.band.tolist() == ["A", "B", "C"]
    assert tasks.id.tolist() == [queue.tasks["call"], queue.tasks["proposal"]]
    assert tasks.overdue.tolist() == [True, False]
    assert at.metric[0].value == "1"
    assert "Overdue" in " ".join(m.value for m in at.markdown)
    assert len(at.get("download_button")) == 2


def test_qualify_disqualify_and_complete_go_through_the_api(queue, clean_db):
    high, mid, low = (queue.leads[n] for n in ("high", "mid", "low"))
    at = log_in(run_page(PAGE))
    at.button(key=f"qualify-{high}").click().run()
    assert [s.value for s in at.success] == [f"Lead {high} qualified."]
    assert at.dataframe[0].value.id.tolist() == [mid, low]  # no longer open

    at.selectbox(key=f"reason-{mid}").select("No budget").run()
    at.button(key=f"disqualify-{mid}").click().run()
    assert at.dataframe[0].value.id.tolist() == [low]

    at.button(key=f"complete-{queue.tasks['call']}").click().run()
    assert at.dataframe[1].value.id.tolist() == [queue.tasks["proposal"]]
    assert at.metric[0].value == "0"

    assert statuses(clean_db, "leads", [high, mid, low]) == {
        high: "qualified", mid: "disqualified", low: "new"}
    assert statuses(clean_db, "tasks", list(queue.tasks.values()))[queue.tasks["call"]] == \
        "completed"
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select disqualified_reason from app.leads where id = :id"),
                            {"id": mid}).scalar() == "No budget"


def test_a_failed_action_says_why_and_the_page_stays(queue, clean_db):
    low = queue.leads["low"]
    at = log_in(run_page(PAGE))
    with clean_db.begin() as conn:  # someone else deletes the lead meanwhile
        conn.execute(sa.text("update app.leads set deleted_at = now() where id = :id"),
                     {"id": low})
    at.button(key=f"qualify-{low}").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"No lead {low} (or you may not see it)."]
    assert at.dataframe[0].value.id.tolist() == [queue.leads["high"], queue.leads["mid"]]


def test_the_band_filter_in_the_url(queue):
    at = log_in(run_page(PAGE, band="A,B"))
    assert at.dataframe[0].value.id.tolist() == [queue.leads["high"], queue.leads["mid"]]
    assert at.query_params["band"] == "A,B"


def test_an_expired_session_asks_to_log_in_again(queue):
    at = run_page(PAGE, session={"api_token": "stale", "api_user": {"full_name": "Rita"}})
    assert [e.value for e in at.error] == ["Your session has expired: log in again."]
    assert "api_token" not in at.session_state
    log_in(at)
    assert at.dataframe[0].value.id.tolist() == [queue.leads[n] for n in ("high", "mid", "low")]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_api_that_is_down_is_said_plainly(monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("SALESOPS_API_URL", url)
    at = log_in(run_page(PAGE))
    assert [e.value for e in at.error] == [
        f"Login failed: The API at {url} is not answering. Start it with `salesops up` "
        "(or set SALESOPS_API_URL), then try again."]
    assert at.text_input(key="login_email").value == EMAIL

    at = run_page(PAGE, session={"api_token": "a-token", "api_user": {"full_name": "Rita"}})
    assert len(at.error) == 2 and all("is not answering" in e.value for e in at.error)
    assert not at.dataframe and at.sidebar.button[0].label == "Log out"


@pytest.fixture
def people(queue, clean_db, database_url, monkeypatch):
    """The users dimension the page names owners from, built from app.users."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    with marts_aside(clean_db):
        with clean_db.begin() as conn:
            conn.execute(sa.text("create table marts.dim_users as "
                                 "select id as user_id, full_name from app.users"))
        yield queue


def test_a_manager_sees_the_team_with_a_rep_filter_and_overdue_escalations(people, clean_db):
    q = people
    at = log_in(run_page(PAGE), MANAGER)
    leads, escalations, tasks = (d.value for d in at.dataframe)
    # the team's open leads (Rita's and Otto's), not Wes's of the other team
    assert leads.id.tolist() == [q.leads[n] for n in ("theirs", "high", "mid", "campaign",
                                                      "low")]
    assert leads.owner.tolist() == ["Otto Other", "Rita Rep", "Rita Rep", "Otto Other",
                                    "Rita Rep"]
    assert escalations.id.tolist() == [q.tasks["call"]]
    assert escalations.assignee.tolist() == ["Rita Rep"]
    assert tasks.id.tolist() == [q.tasks[n] for n in ("call", "theirs", "proposal")]
    assert [s.value for s in at.subheader][:2] == ["My teams' leads by priority",
                                                   "Overdue escalations"]

    rep = next(m for m in at.multiselect if m.label == "Rep")
    assert rep.options == ["Otto Other", "Rita Rep"]
    rep.select("Otto Other").run()
    assert at.query_params["rep"] == "Otto Other"
    leads, tasks = at.dataframe[0].value, at.dataframe[-1].value
    assert leads.id.tolist() == [q.leads["theirs"], q.leads["campaign"]]
    assert tasks.id.tolist() == [q.tasks["theirs"]]
    assert any("Nothing is overdue" in s.value for s in at.success)

    at.button(key=f"qualify-{q.leads['theirs']}").click().run()
    assert [s.value for s in at.success][0] == f"Lead {q.leads['theirs']} qualified."
    assert statuses(clean_db, "leads", [q.leads["theirs"]]) == {q.leads["theirs"]: "qualified"}


def test_an_analyst_reads_everything_and_has_no_buttons(people):
    q = people
    at = log_in(run_page(PAGE), ANALYST)
    assert at.dataframe[0].value.id.tolist() == [
        q.leads[n] for n in ("theirs", "far", "high", "mid", "campaign", "low")]
    assert not [b for b in at.button if b.label in ("Qualify", "Disqualify", "Complete")]
    assert any("Read only" in c.value for c in at.caption)


def test_marketing_sees_its_campaign_leads(people):
    q = people
    at = log_in(run_page(PAGE), MARKETER)
    assert at.dataframe[0].value.id.tolist() == [q.leads["campaign"]]
    assert [s.value for s in at.subheader] == ["My campaigns' leads by priority",
                                               "My campaigns' tasks"]
    assert "No open tasks: nothing is due." in [i.value for i in at.info]
