"""Record routes are rate-limited per user and per API key, each on its own count."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from api.main import create_app
from salesops.security import SecuritySettings
from salesops.settings import Settings
from tests.api.personas import make_personas


def test_each_user_and_each_key_has_its_own_limit(clean_db, database_url, redis_url,
                                                   tmp_path):
    security = SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024,
                                argon2_parallelism=1, user_rate_limit=3,
                                api_key_rate_limit=2, api_rate_window_seconds=3600,
                                redis_prefix=f"rl-{uuid.uuid4().hex[:10]}")
    app = create_app(database_url, redis_url, security=security,
                     settings=Settings(data_dir=tmp_path))
    personas = make_personas(app, clean_db, security)
    with TestClient(app) as client:
        def statuses(persona, n):
            return [client.get("/api/v1/tasks", headers=personas[persona]["headers"])
                    .status_code for _ in range(n)]

        assert statuses("rep", 4) == [200, 200, 200, 429]
        assert statuses("rep2", 3) == [200, 200, 200]  # another user, another count
        assert statuses("integration", 3) == [200, 200, 429]
        limited = client.get("/api/v1/tasks", headers=personas["rep"]["headers"])
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 3600
