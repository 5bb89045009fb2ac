"""The app itself: OpenAPI, health, request ids, the error format, configuration."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from salesops.errors import ConfigError
from salesops.settings import Settings

ROUTES = {
    ("get", "/api/v1/health"), ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"), ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"), ("post", "/api/v1/forms/{form_key}/submissions"),
}


def test_openapi_schema_lists_the_routes_with_examples(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert found >= ROUTES
    assert all(p.startswith("/api/v1/") for _, p in found)
    schemas = spec["components"]["schemas"]
    for name in ("LoginRequest", "TokenPair", "UserPublic", "FormSubmission", "Problem"):
        assert schemas[name].get("examples"), name
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"AccessToken": []}]
    assert "401" in me["responses"]
    assert client.get("/docs").status_code == 200


def test_health_reports_database_and_redis(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == body["redis"]["status"] == "ok"


def test_health_is_503_when_redis_is_down(database_url, tmp_path):
    app = create_app(database_url, "redis://127.0.0.1:1/0",
                     settings=Settings(data_dir=tmp_path))
    with TestClient(app) as c:
        r = c.get("/api/v1/health")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded" and r.json()["redis"]["status"] == "error"
    assert r.json()["database"]["status"] == "ok"


def test_request_id_is_echoed_or_made(client):
    r = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    made = client.get("/api/v1/health", headers={"X-Request-ID": "bad id <script>"})
    assert len(made.headers["X-Request-ID"]) == 32
    err = client.get("/api/v1/auth/me", headers={"X-Request-ID": "trace-7"})
    assert err.json()["request_id"] == "trace-7"


def test_unknown_route_uses_the_error_format(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {"type": "urn:salesops:problem:not_found", "title": "Not Found",
                        "status": 404, "detail": "Not Found", "instance": "/api/v1/nope",
                        "code": "not_found", "request_id": r.headers["X-Request-ID"]}
    wrong_method = client.delete("/api/v1/health")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == \
        "method_not_allowed" and wrong_method.headers["allow"] == "GET"


def test_missing_configuration_is_a_clear_error(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=None, redis_url=None)
    with pytest.raises(ConfigError, match="DATABASE_URL and REDIS_URL not set"):
        create_app(settings=settings)
