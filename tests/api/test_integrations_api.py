"""Integration settings: admins only, secrets sealed with the field keyring and never
returned or audited in clear, sync run history newest first."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import integrations
from salesops.models import IntegrationSyncRun
from salesops.security.crypto import keyring

SECRET = "hunter2-very-secret"
PUBLIC_HOOK = "https://93.184.215.14/hook"  # a public address: no DNS needed


def test_secrets_are_sealed_and_never_returned(client, app, personas, clean_db):
    admin = personas["admin"]["headers"]
    made = client.post("/api/v1/integrations/email", headers=admin, json={
        "name": "Sales mailbox", "provider": "imap", "settings": {"host": "imap.example.com"},
        "credentials": {"username": "sales@example.com", "password": SECRET}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["has_credentials"] is True and "credentials" not in body
    assert SECRET not in made.text
    iid = body["id"]
    for r in (client.get(f"/api/v1/integrations/email/{iid}", headers=admin),
              client.get("/api/v1/integrations/email", headers=admin)):
        assert r.status_code == 200 and SECRET not in r.text

    with clean_db.connect() as conn:
        stored = conn.scalar(sa.text("select credentials_encrypted from app.email_integrations"
                                     " where id = :i"), {"i": iid})
        audit_text = json.dumps(conn.execute(sa.text(
            "select before, after from app.audit_logs where entity = 'integrations'")).all(),
            default=str)
    assert stored.startswith("v1:") and SECRET not in stored and SECRET not in audit_text
    cipher = keyring(app.state.settings)
    with Session(clean_db) as s:
        assert integrations.credentials(s, cipher, "email", iid)["password"] == SECRET

    changed = client.patch(f"/api/v1/integrations/email/{iid}", headers=admin,
                           json={"is_enabled": False})
    assert changed.json()["is_enabled"] is False and changed.json()["has_credentials"]
    cleared = client.patch(f"/api/v1/integrations/email/{iid}", headers=admin,
                           json={"credentials": None})
    assert cleared.json()["has_credentials"] is False


def test_bad_settings_are_refused_and_only_admins_may(client, personas):
    admin = personas["admin"]["headers"]
    url = "/api/v1/integrations/crm"
    cases = [
        ({"name": "x", "provider": "salesforce", "settings": {"api_token": SECRET}}, 422,
         "invalid_input"),
        ({"name": "x", "provider": "oracle"}, 422, "invalid_input"),
        ({"name": "x", "provider": "hubspot", "endpoint_url": "https://a.example"}, 422,
         "invalid_input"),
    ]
    for body, status, code in cases:
        r = client.post(url, json=body, headers=admin)
        assert (r.status_code, r.json()["code"]) == (status, code), body
        assert SECRET not in r.text
    assert client.post(url, json={"name": "SF", "provider": "salesforce"},
                       headers=admin).status_code == 201
    dup = client.post(url, json={"name": "SF", "provider": "salesforce"}, headers=admin)
    assert (dup.status_code, dup.json()["code"]) == (409, "duplicate_integration")
    for persona in ("manager", "rep", "marketing", "analyst", "integration"):
        assert client.get(url, headers=personas[persona]["headers"]).status_code == 403


def test_sync_runs_are_listed_newest_first(client, personas, clean_db):
    admin = personas["admin"]["headers"]
    iid = client.post("/api/v1/integrations/financial", headers=admin, json={
        "name": "Ledger", "provider": "ledger-webhook",
        "endpoint_url": PUBLIC_HOOK}).json()["id"]
    with Session(clean_db) as s, s.begin():
        s.add_all([IntegrationSyncRun(kind="financial", integration_id=iid, direction="push",
                                      status=st, records_out=n)
                   for n, st in enumerate(("succeeded", "failed", "partial"))])
        s.add(IntegrationSyncRun(kind="crm", integration_id=iid, direction="pull"))
    url = f"/api/v1/integrations/financial/{iid}/sync-runs"
    first = client.get(url, params={"limit": 2}, headers=admin).json()
    rest = client.get(url, params={"limit": 2, "cursor": first["next_cursor"]},
                      headers=admin).json()
    assert [r["status"] for r in first["items"] + rest["items"]] == \
        ["partial", "failed", "succeeded"]
    assert rest["next_cursor"] is None
    assert client.get("/api/v1/integrations/financial/999999/sync-runs",
                      headers=admin).status_code == 404
    assert client.delete(f"/api/v1/integrations/financial/{iid}",
                         headers=admin).status_code == 204
    assert client.get(f"/api/v1/integrations/financial/{iid}",
                      headers=admin).status_code == 404


def test_an_endpoint_url_passes_the_ssrf_guard_when_saved(client, app, personas, clean_db):
    admin = personas["admin"]["headers"]
    url = "/api/v1/integrations/financial"
    for bad in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data",
                "http://2130706433/", "http://10.0.0.5/hook", "file:///etc/passwd",
                "gopher://93.184.215.14/"):
        r = client.post(url, headers=admin, json={"name": f"Bad {bad}", "provider": "ledger",
                                                  "endpoint_url": bad})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert (problem["code"], problem["errors"][0]["field"]) == ("unsafe_url",
                                                                    "endpoint_url"), r.text
        assert r.json()["detail"].startswith("endpoint_url: "), r.text
    made = client.post(url, headers=admin, json={"name": "Ledger", "provider": "ledger",
                                                 "endpoint_url": PUBLIC_HOOK})
    assert made.status_code == 201, made.text
    iid = made.json()["id"]
    moved = client.patch(f"{url}/{iid}", headers=admin,
                         json={"endpoint_url": "http://localhost:5432/"})
    assert (moved.status_code, moved.json()["code"]) == (422, "unsafe_url"), moved.text
    assert client.get(f"{url}/{iid}", headers=admin).json()["endpoint_url"] == PUBLIC_HOOK
    # an on-premises endpoint is allowed the same way as for the calls themselves
    app.state.security = app.state.security.model_copy(
        update={"ssrf_allowed_hosts": ["127.0.0.1"]})
    local = client.patch(f"{url}/{iid}", headers=admin,
                         json={"endpoint_url": "http://127.0.0.1:8080/hook"})
    assert local.status_code == 200 and local.json()["endpoint_url"].startswith("http://127")
    with clean_db.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from app.financial_integrations")) == 1
