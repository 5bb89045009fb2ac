"""The work queue against a stand-in of the API contract (tests/dashboards/
work_api_standin.py), and against an API that is down: plain words, a usable page."""

from __future__ import annotations

import socket

import pytest

from tests.dashboards.dashboard_app import run_page
from tests.dashboards.work_api_standin import EMAIL, PASSWORD, TOKEN, StandInWorkApi

PAGE = "views/work_queue.py"


@pytest.fixture
def api(monkeypatch):
    with StandInWorkApi() as server:
        monkeypatch.setenv("SALESOPS_API_URL", server.url)
        yield server


def log_in(at, email: str = EMAIL, password: str = PASSWORD):
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Log in").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_a_wrong_password_says_so_and_keeps_the_form(api):
    at = log_in(run_page(PAGE), password="wrong")
    assert [e.value for e in at.error] == ["Login failed: Wrong email or password."]
    assert at.text_input(key="login_email").value == EMAIL  # the form is still there
    assert "api_token" not in at.session_state


def test_a_rep_sees_their_open_leads_by_score_and_tasks_overdue_first(api):
    at = log_in(run_page(PAGE))
    assert ("POST", "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}) in api.calls
    assert "Rita Rep" in " ".join(m.value for m in at.sidebar.markdown)
    assert "login_password" not in at.session_state
    leads, tasks = (d.value for d in at.dataframe)
    assert leads.id.tolist() == [12, 13, 11]  # mine, new or working, highest score first
    assert tasks.id.tolist() == [21, 22]
    assert tasks.overdue.tolist() == [True, False]
    assert at.metric[0].value == "1"
    assert "Overdue" in texts(at)
    assert len(at.get("download_button")) == 2


def test_qualify_disqualify_and_complete_go_through_the_api(api):
    at = log_in(run_page(PAGE))
    at.button(key="qualify-12").click().run()
    assert ("POST", "/api/v1/leads/12/qualify", None) in api.calls
    assert [s.value for s in at.success] == ["Lead 12 qualified."]
    assert at.dataframe[0].value.id.tolist() == [13, 11]  # no longer open

    at.selectbox(key="reason-13").select("No budget").run()
    at.button(key="disqualify-13").click().run()
    assert ("POST", "/api/v1/leads/13/disqualify", {"reason": "No budget"}) in api.calls
    assert at.dataframe[0].value.id.tolist() == [11]

    at.button(key="complete-21").click().run()
    assert ("POST", "/api/v1/tasks/21/complete", None) in api.calls
    assert at.dataframe[1].value.id.tolist() == [22]
    assert at.metric[0].value == "0"
    assert {r["id"]: r["status"] for r in api.state["leads"] if r["id"] in (12, 13)} == {
        12: "qualified", 13: "disqualified"}


def test_a_failed_action_says_why_and_the_page_stays(api):
    at = log_in(run_page(PAGE))
    api.state["leads"] = [lead for lead in api.state["leads"] if lead["id"] != 11]
    at.button(key="qualify-11").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["No lead 11."]
    assert at.dataframe[0].value.id.tolist() == [12, 13]


def test_the_band_filter_in_the_url(api):
    at = log_in(run_page(PAGE, band="A,B"))
    assert at.dataframe[0].value.id.tolist() == [12, 13]
    assert at.query_params["band"] == "A,B"


def test_an_expired_session_asks_to_log_in_again(api):
    at = run_page(PAGE, session={"api_token": "stale", "api_user": {"full_name": "Rita"}})
    assert [e.value for e in at.error] == ["Your session has expired: log in again."]
    assert "api_token" not in at.session_state
    log_in(at)
    assert at.dataframe[0].value.id.tolist() == [12, 13, 11]


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

    at = run_page(PAGE, session={"api_token": TOKEN, "api_user": {"full_name": "Rita"}})
    assert len(at.error) == 2 and all("is not answering" in e.value for e in at.error)
    assert not at.dataframe and at.sidebar.button[0].label == "Log out"
