"""Work queue: open leads by priority and tasks due and overdue, with one-click qualify,
disqualify (with a reason) and complete, all sent through the API.

What it shows depends on the role (dashboards/queue_views.py): a rep their own leads and
tasks; a manager their teams' (as the API scopes them), with a rep filter and the overdue
escalations; an analyst the same read only, without buttons; marketing its campaigns'
leads. The API decides what each user may see and do.

The page never writes to the database: it logs in at `POST /api/v1/auth/login` and calls
the API at SALESOPS_API_URL (default http://127.0.0.1:8000). An API that is down, a failed
login or a failed action is said in plain words and the page stays usable."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards.api_client import Api, ApiError, SessionExpired, api_url
from dashboards.data import download, query
from dashboards.filters import choice
from dashboards.queue_views import view_for

BANDS = ["A", "B", "C", "D"]
DISQUALIFY_REASONS = ["No budget", "No need", "Not the decision maker", "Unresponsive",
                      "Went with a competitor", "Duplicate", "Bad contact data"]
LEAD_COLUMNS = ["id", "first_name", "last_name", "company", "email", "status", "score", "band",
                "next_best_action"]
TASK_COLUMNS = ["id", "title", "due_at", "priority", "status", "related_type", "related_id"]
ESCALATION_COLUMNS = ["id", "title", "due_at", "priority", "escalated_at", "related_type",
                      "related_id"]
#: At most this many leads and tasks per list (the API's largest page).
PEOPLE_LIMIT = 200
PEOPLE_SQL = "select user_id, full_name from marts.dim_users"

st.title("Work queue")
api = Api(api_url(), st.session_state.get("api_token"))


def say(kind: str, message: str) -> None:
    """Keep a message for the next run (actions run in callbacks, before the page)."""
    st.session_state["work_queue_said"] = (kind, message)


def act(action, *args, done: str) -> None:
    try:
        action(*args)
    except SessionExpired as exc:
        log_out()
        say("error", str(exc))
    except ApiError as exc:
        say("error", str(exc))
    else:
        say("success", done)


def log_in() -> None:
    password = st.session_state.pop("login_password", "")  # kept no longer than needed
    try:
        st.session_state["api_token"] = api.login(st.session_state.get("login_email", ""),
                                                  password)
        st.session_state["api_user"] = api.me()
    except ApiError as exc:
        st.session_state.pop("api_token", None)
        say("error", str(exc))


def log_out() -> None:
    for key in ("api_token", "api_user"):
        st.session_state.pop(key, None)


def fetch(items) -> list[dict] | None:
    """A list from the API, or None after saying why not; an expired session goes back to
    the login form."""
    try:
        return items()
    except SessionExpired as exc:
        log_out()
        say("error", str(exc))
        st.rerun()
    except ApiError as exc:
        st.error(str(exc))
    return None


def people() -> dict[int, str]:
    """User id -> name, from the users dimension (empty until dbt has built it)."""
    frame = query(PEOPLE_SQL)
    return dict(zip(frame.user_id, frame.full_name, strict=True)) if "user_id" in frame else {}


def owner_name(user_id) -> str:
    if user_id is None:
        return "(unassigned)"
    return people().get(user_id, f"User {user_id}")


def lead_actions(lead: dict) -> None:
    """One lead's line: who, its score, and the qualify and disqualify buttons."""
    name, score, qualify, reason, disqualify = st.columns([4, 1, 1, 3, 1.3],
                                                          vertical_alignment="center")
    name.write(f"**{lead.get('first_name') or ''} {lead.get('last_name') or ''}**"
               f" · {lead.get('company') or 'no company'}")
    score.write(f"{lead.get('score', '–')} ({lead.get('band') or '–'})")
    qualify.button("Qualify", key=f"qualify-{lead['id']}", on_click=act,
                   args=(api.qualify, lead["id"]),
                   kwargs={"done": f"Lead {lead['id']} qualified."})
    why = reason.selectbox("Reason", DISQUALIFY_REASONS, key=f"reason-{lead['id']}",
                           label_visibility="collapsed")
    disqualify.button("Disqualify", key=f"disqualify-{lead['id']}", on_click=act,
                      args=(api.disqualify, lead["id"], why),
                      kwargs={"done": f"Lead {lead['id']} disqualified: {why}."})


if said := st.session_state.pop("work_queue_said", None):
    getattr(st, said[0])(said[1])

if not api.token:
    st.caption(f"Log in with your salesops account (API at {api.base_url}).")
    with st.form("login"):
        st.text_input("Email", key="login_email")
        st.text_input("Password", type="password", key="login_password")
        st.form_submit_button("Log in", on_click=log_in)
else:
    user = st.session_state.get("api_user") or {}
    role = user.get("role")
    view = view_for(role)
    st.sidebar.write(f"Logged in as **{user.get('full_name', '?')}** "
                     f"({(role or 'unknown role').replace('_', ' ')})")
    st.sidebar.button("Log out", on_click=log_out)
    bands = choice("Score band", "band", BANDS)
    if not view.acts:
        st.caption(f"Read only: your role ({role.replace('_', ' ')}) may look at leads and "
                   "tasks but not change them.")

    leads = fetch(lambda: api.open_leads(view.leads_of, limit=PEOPLE_LIMIT))
    tasks = fetch(lambda: api.open_tasks(view.tasks_of, limit=PEOPLE_LIMIT))
    if view.team:  # the rep filter: the people in what the API let this user see
        names = people()
        present = {r.get(k) for rows, k in ((leads, "owner_id"), (tasks, "assignee_id"))
                   for r in rows or [] if r.get(k) is not None}
        by_name = {names.get(i, f"User {i}"): i for i in present}
        picked = choice("Rep", "rep", sorted(by_name))
        if picked:
            ids = ",".join(str(by_name[n]) for n in picked)
            leads = fetch(lambda: api.open_leads(ids, limit=PEOPLE_LIMIT))
            tasks = fetch(lambda: api.open_tasks(ids, limit=PEOPLE_LIMIT))

    st.subheader(f"{view.whose} leads by priority")
    if leads is not None:
        leads = [lead for lead in leads if not bands or lead.get("band") in bands]
        if not leads:
            st.info("No open leads" + (" in these bands." if bands else "."))
        else:
            table = pd.DataFrame(leads).reindex(columns=LEAD_COLUMNS)
            if view.team:
                table.insert(1, "owner", [owner_name(lead.get("owner_id")) for lead in leads])
            st.dataframe(table.dropna(axis="columns", how="all"), hide_index=True,
                         width="stretch")
            download(table, "leads_queue")
            for lead in leads if view.acts else []:
                lead_actions(lead)

    if view.team:
        st.subheader("Overdue escalations")
        overdue = fetch(lambda: api.open_tasks(
            ",".join(str(by_name[n]) for n in picked) if picked else None, overdue=True,
            limit=PEOPLE_LIMIT))
        if overdue is not None and not overdue:
            st.success("Nothing is overdue.")
        elif overdue:
            st.metric("Overdue tasks", len(overdue))
            late = pd.DataFrame(overdue).reindex(columns=ESCALATION_COLUMNS)
            late.insert(1, "assignee", [owner_name(t.get("assignee_id")) for t in overdue])
            st.dataframe(late, hide_index=True, width="stretch")
            download(late, "overdue_escalations")

    st.subheader(f"{view.whose} tasks")
    if tasks is not None and not tasks:
        st.info("No open tasks: nothing is due.")
    elif tasks:
        now = datetime.now(UTC)
        due = pd.to_datetime(pd.Series([t.get("due_at") for t in tasks]), utc=True,
                             errors="coerce")
        overdue_now = [t for t, at in zip(tasks, due, strict=True) if pd.notna(at) and at < now]
        st.metric("Overdue", len(overdue_now))
        table = pd.DataFrame(tasks).reindex(columns=TASK_COLUMNS)
        table.insert(3, "overdue", (due < now).to_numpy())
        if view.team:
            table.insert(1, "assignee", [owner_name(t.get("assignee_id")) for t in tasks])
        st.dataframe(table, hide_index=True, width="stretch")
        download(table, "tasks_queue")
        for task, at in zip(tasks, due, strict=True):
            what, when, complete = st.columns([5, 3, 1.3], vertical_alignment="center")
            late = pd.notna(at) and at < now
            what.write(f"{':red[**Overdue**] · ' if late else ''}{task.get('title')} "
                       f"({task.get('priority', 'normal')})")
            when.write(f"due {at:%Y-%m-%d %H:%M} UTC" if pd.notna(at) else "no due date")
            if view.acts:
                complete.button("Complete", key=f"complete-{task['id']}", on_click=act,
                                args=(api.complete, task["id"]),
                                kwargs={"done": f"Task “{task.get('title')}” completed."})
