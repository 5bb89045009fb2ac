"""The enrichment hook against a local HTTP server speaking its contract: blanks filled on
create and on demand, nothing overwritten, the SSRF guard in front, failures clear."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa


class Enrichment(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("content-length", 0))
        type(self).seen.append(json.loads(self.rfile.read(length)))
        if self.path == "/ok":
            self._answer(200, {"title": "CFO", "phone": "+1 555 0100", "first_name": "Zed",
                               "owner_id": 1, "last_name": "x" * 1000})
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        else:
            self._answer(500, {"error": "down"})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Enrichment)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _configure(app, url: str | None, *, allow: bool) -> None:
    app.state.settings = app.state.settings.model_copy(update={"enrichment_url": url})
    app.state.security = app.state.security.model_copy(
        update={"ssrf_allowed_hosts": ["127.0.0.1"] if allow else []})


def test_enrichment_fills_blanks_on_create_and_on_demand(client, app, personas, clean_db,
                                                         service):
    rep = personas["rep"]["headers"]
    plain = client.post("/api/v1/contacts", json={"last_name": "Plain"}, headers=rep).json()
    assert plain["enrichment"] is None
    missing = client.post(f"/api/v1/contacts/{plain['id']}/enrich", headers=rep)
    assert (missing.status_code, missing.json()["code"]) == (409, "enrichment_not_configured")

    _configure(app, f"{service}/ok", allow=True)
    Enrichment.seen.clear()
    made = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["enrichment"] == {"status": "enriched", "filled": ["phone", "title"],
                                  "code": None, "detail": None}
    assert (body["first_name"], body["title"], body["phone"]) == ("Ann", "CFO", "+1 555 0100")
    assert Enrichment.seen[-1]["contact"]["email"] == "ann.lee@example.com"

    again = client.post(f"/api/v1/contacts/{body['id']}/enrich", headers=rep)
    assert again.status_code == 200 and again.json()["enrichment"]["status"] == "unchanged"
    on_demand = client.post(f"/api/v1/contacts/{plain['id']}/enrich", headers=rep).json()
    assert on_demand["enrichment"]["filled"] == ["first_name", "phone", "title"]
    assert client.post(f"/api/v1/contacts/{plain['id']}/enrich",
                       headers=personas["rep2"]["headers"]).status_code == 403
    with clean_db.connect() as conn:
        audited = conn.execute(sa.text(
            "select after from app.audit_logs where entity = 'contacts' and action = 'enrich' "
            "and entity_id = :i"), {"i": str(body["id"])}).scalar_one()
    assert audited == {"phone": "***", "title": "CFO", "version": 2}


def test_enrichment_goes_through_the_ssrf_guard_and_fails_clearly(client, app, personas,
                                                                 service):
    rep = personas["rep"]["headers"]
    _configure(app, f"{service}/ok", allow=False)
    Enrichment.seen.clear()
    made = client.post("/api/v1/contacts", json={"last_name": "Guarded"}, headers=rep)
    assert made.status_code == 201
    assert made.json()["enrichment"]["status"] == "failed"
    assert made.json()["enrichment"]["code"] == "unsafe_url"
    contact = made.json()["id"]
    refused = client.post(f"/api/v1/contacts/{contact}/enrich", headers=rep)
    assert (refused.status_code, refused.json()["code"]) == (422, "unsafe_url")
    assert Enrichment.seen == []  # never called

    _configure(app, f"{service}/redirect", allow=True)
    hop = client.post(f"/api/v1/contacts/{contact}/enrich", headers=rep)
    assert (hop.status_code, hop.json()["code"]) == (422, "unsafe_url")
    _configure(app, f"{service}/down", allow=True)
    down = client.post(f"/api/v1/contacts/{contact}/enrich", headers=rep)
    assert (down.status_code, down.json()["code"]) == (502, "upstream_failed")
    assert down.headers["content-type"] == "application/problem+json"
    assert client.get(f"/api/v1/contacts/{contact}", headers=rep).json()["version"] == 1
