"""The API under test: the real app on the test database and Redis, cheap argon2, small
limits, and a Redis key prefix of its own per test (so no test sees another's counters)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from salesops.domain.users import create_user
from salesops.security import SecuritySettings
from salesops.settings import Settings

PASSWORD = "correct horse battery"
CLIENT_IP = "203.0.113.10"


@pytest.fixture
def security() -> SecuritySettings:
    return SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024, argon2_parallelism=1,
                            login_max_failures_per_user=3, login_max_failures_per_ip=50,
                            form_rate_limit=5, form_rate_window_seconds=60,
                            redis_prefix=f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def app(clean_db, database_url, redis_url, security, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.getbasetemp() / "api-data")
    return create_app(database_url, redis_url, settings=settings, security=security)


@pytest.fixture
def client(app) -> TestClient:
    with TestClient(app, client=(CLIENT_IP, 50000),
                    headers={"User-Agent": "pytest-api/1.0"}) as c:
        yield c


@pytest.fixture
def rep(clean_db, security) -> dict:
    with Session(clean_db) as session, session.begin():
        user = create_user(session, "rita@example.com", "Rita Rep", PASSWORD, "sales_rep",
                           security=security)
        return {"id": user.id, "email": "rita@example.com", "password": PASSWORD}


@pytest.fixture
def login(client, rep):
    def _login(email=rep["email"], password=rep["password"]):
        return client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return _login


#: The personas: one per role, and a second and an outside rep for record-level rules.
#: Teams: Sales (the manager's) > Sales East (rep, rep2); Sales West (rep_west), apart.
PERSONAS = {
    "admin": ("admin", None), "manager": ("sales_manager", "Sales"),
    "rep": ("sales_rep", "Sales East"), "rep2": ("sales_rep", "Sales East"),
    "rep_west": ("sales_rep", "Sales West"), "marketing": ("marketing_manager", None),
    "analyst": ("analyst", None), "integration": ("integration", None),
}


def make_personas(app, engine, security) -> dict[str, dict]:
    """Each persona's user id and request headers (a bearer token; an API key for the
    integration user), made in an emptied database."""
    from salesops.domain import api_keys
    from salesops.domain.audit import Actor
    from salesops.domain.users import get_principal
    from salesops.models import Team

    out = {}
    with Session(engine) as session, session.begin():
        sales = Team(name="Sales")
        session.add(sales)
        session.flush()
        teams = {"Sales": sales, "Sales East": Team(name="Sales East", parent_id=sales.id),
                 "Sales West": Team(name="Sales West")}
        session.add_all(teams.values())
        session.flush()
        for name, (role, team) in PERSONAS.items():
            user = create_user(session, f"{name}@example.com", name.title(), PASSWORD, role,
                               team_id=teams[team].id if team else None, security=security)
            out[name] = {"id": user.id, "role": role}
        sales.manager_id = out["manager"]["id"]
        admin = Actor(get_principal(session, out["admin"]["id"]))
        _, key = api_keys.create_key(session, admin, out["integration"]["id"], "sync")
    for name, persona in out.items():
        persona["headers"] = (
            {"X-API-Key": key} if name == "integration" else
            {"Authorization": f"Bearer {app.state.tokens.issue(persona['id']).access_token}"})
    return out


@pytest.fixture
def personas(app, clean_db, security) -> dict[str, dict]:
    return make_personas(app, clean_db, security)
