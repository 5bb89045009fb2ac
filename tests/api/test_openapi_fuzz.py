"""Schemathesis over the OpenAPI schema: every operation, authenticated as the admin (who
may call them all), with generated valid and invalid input. No 5xx, and every response
matches the schema: documented status, content type and body."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from salesops.security import SecuritySettings
from salesops.settings import Settings
from tests.api.personas import make_personas

MAX_EXAMPLES = 5
CHECKS = (schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance)


@pytest.fixture(scope="module")
def fuzz_setup(truncate_data, engine, database_url, redis_url, tmp_path_factory):
    truncate_data()
    security = SecuritySettings(argon2_time_cost=1, argon2_memory_cost=1024,
                                argon2_parallelism=1, form_rate_limit=100000,
                                redis_prefix=f"fuzz-{uuid.uuid4().hex[:10]}")
    app = create_app(database_url, redis_url, security=security,
                     settings=Settings(data_dir=tmp_path_factory.mktemp("fuzz")))
    personas = make_personas(app, engine, security)
    with TestClient(app) as client:  # some records for the generated ids to hit
        admin = personas["admin"]["headers"]
        for n in range(1, 4):
            client.post("/api/v1/contacts", json={"last_name": f"Fuzz{n}"}, headers=admin)
            client.post("/api/v1/accounts", json={"name": f"Fuzz {n}"}, headers=admin)
            client.post("/api/v1/deals", json={"name": f"Fuzz {n}"}, headers=admin)
            client.post("/api/v1/tasks", json={"title": f"Fuzz {n}"}, headers=admin)
            client.post("/api/v1/forms/fuzz/submissions",
                        json={"fields": {"email": f"fuzz{n}@example.com"}})
    return app, personas


def _fuzz(operation, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_no_operation_errors_or_breaks_its_schema(fuzz_setup):
    app, personas = fuzz_setup
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        headers = {} if operation.path == "/api/v1/auth/logout" else \
            personas["admin"]["headers"]

        try:
            _fuzz(operation, headers)
        except Exception as exc:  # collect them all, then fail once with the list
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:1500])
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
