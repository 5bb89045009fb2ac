"""The real salesops API for the work-queue tests: `api.main.create_app` over the test
database, served by uvicorn in a thread on a free loopback port; and a rep with the leads
they own (scored) and the tasks assigned to them, next to another rep's."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from sqlalchemy.orm import Session

from api.main import create_app
from salesops.domain import tasks
from salesops.domain.audit import Actor
from salesops.domain.leads import capture_lead
from salesops.domain.users import create_user, get_principal
from salesops.models import Campaign, Lead, Team
from salesops.security import SecuritySettings
from salesops.settings import Settings

EMAIL, PASSWORD = "rita@example.com", "correct horse battery"
#: The other roles' logins (same password): Rita's and Otto's manager, an analyst, and a
#: marketer owning the campaign of lead "campaign".
MANAGER, ANALYST, MARKETER = "mary@example.com", "ada@example.com", "mark@example.com"


def cheap_security() -> SecuritySettings:
    """Fast password hashing and a Redis key prefix of its own (as tests/api does)."""
    return SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1,
                            redis_prefix=f"dash-{uuid.uuid4().hex[:10]}")


class ServedApi:
    """The API app under uvicorn on 127.0.0.1, in a daemon thread, for a `with` block."""

    def __init__(self, database_url: str, redis_url: str, security: SecuritySettings,
                 data_dir: Path):
        app = create_app(database_url, redis_url, settings=Settings(data_dir=data_dir),
                         security=security)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> ServedApi:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "uvicorn stopped while starting the API"
            assert time.monotonic() < deadline, "the API did not start in 30 s"
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class WorkQueue:
    """Ids of what `seed` made: the rep, the other rep, and leads and tasks by name."""

    rep_id: int
    other_id: int = 0
    leads: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)


#: name -> (company, status, owner ('rep', 'other' or 'west'), score and band)
LEADS = {"low": ("Acme", "new", "rep", (35, "C")), "high": ("Beta", "working", "rep", (91, "A")),
         "mid": ("Gamma", "new", "rep", (64, "B")), "theirs": ("Delta", "new", "other", (99, "A")),
         "done": ("Eps", "qualified", "rep", (80, "A")),
         "campaign": ("Zeta", "new", "other", (50, "B")),
         "far": ("Omega", "new", "west", (95, "A"))}


def seed(engine: sa.Engine, security: SecuritySettings) -> WorkQueue:
    """Rita Rep (EMAIL, PASSWORD) owning four leads (three open, scored) and two open tasks,
    one overdue; Otto Other, in her team, owning two leads (one in Mark Marketing's
    campaign) and one task; Wes West, in another team, one lead; Mary Manager over Rita's
    and Otto's team, and Ada Analyst."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        east, west = Team(name="East"), Team(name="West")
        session.add_all([east, west])
        session.flush()
        rep = create_user(session, EMAIL, "Rita Rep", PASSWORD, "sales_rep", east.id,
                          security=security)
        other = create_user(session, "otto@example.com", "Otto Other", PASSWORD, "sales_rep",
                            east.id, security=security)
        far = create_user(session, "wes@example.com", "Wes West", PASSWORD, "sales_rep",
                          west.id, security=security)
        east.manager_id = create_user(session, MANAGER, "Mary Manager", PASSWORD,
                                      "sales_manager", east.id, security=security).id
        create_user(session, ANALYST, "Ada Analyst", PASSWORD, "analyst", security=security)
        marketer = create_user(session, MARKETER, "Mark Marketing", PASSWORD,
                               "marketing_manager", security=security)
        campaign = Campaign(name="Spring launch", owner_id=marketer.id)
        session.add(campaign)
        session.flush()
        made = WorkQueue(rep.id, other.id)
        owners = {"rep": rep, "other": other, "west": far}
        for name, (company, status, owner, _) in LEADS.items():
            lead = capture_lead(session, email=f"{name}@{company.lower()}.example",
                                first_name=name.title(), last_name="Lead", company=company,
                                form_key="demo", submission_id=f"work-queue-{name}")
            session.execute(sa.update(Lead).where(Lead.id == lead.id).values(
                owner_id=owners[owner].id, status=status,
                campaign_id=campaign.id if name == "campaign" else None))
            made.leads[name] = lead.id
        for name, (*_, (score, band)) in LEADS.items():
            session.execute(sa.text(
                "insert into ml.lead_scores (lead_id, score, band, probability, model_name, "
                "model_version, mlflow_run_id, scored_at) values (:lead, :score, :band, "
                ":score / 100.0, 'lead_score', '1', 'run', now())"),
                {"lead": made.leads[name], "score": score, "band": band})
        for name, title, due, assignee in (
                ("call", "Call Beta", now - timedelta(days=2), rep),
                ("proposal", "Send proposal", now + timedelta(days=3), rep),
                ("theirs", "Someone else's", now + timedelta(days=1), other)):
            actor = Actor(get_principal(session, assignee.id))
            task = tasks.create_task(session, actor, {
                "title": title, "due_at": due, "assignee_id": assignee.id,
                "priority": "high" if name == "call" else "normal",
                "lead_id": made.leads["high"] if name == "call" else None})
            made.tasks[name] = task.id
    return made
