"""The API under test: the real app on the test database and Redis, cheap argon2, small
limits, and a Redis key prefix of its own per test (so no test sees another's counters).
The personas are made by tests/api/personas.py."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from salesops.domain.users import create_user
from salesops.security import SecuritySettings
from salesops.settings import Settings
from tests.api.personas import CLIENT_IP, PASSWORD, make_personas


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


@pytest.fixture
def personas(app, clean_db, security) -> dict[str, dict]:
    return make_personas(app, clean_db, security)
