"""A stand-in for the salesops work-queue API, speaking exactly the contract the work queue
page is written to, until the real /leads and /tasks endpoints are merged:

- `POST /api/v1/auth/login` {email, password} -> {access_token, ...}; 401 when wrong
- `GET /api/v1/auth/me` -> {id, email, full_name, role, team_id}
- `GET /api/v1/leads?owner_id=me&status=new,working&sort=-score&limit=50` -> {items, next_cursor}
- `POST /api/v1/leads/{id}/qualify`; `POST /api/v1/leads/{id}/disqualify` {reason}
- `GET /api/v1/tasks?assignee_id=me&status=open&sort=due_at&limit=50` -> {items, next_cursor}
- `POST /api/v1/tasks/{id}/complete`

Errors are shaped as the real API shapes them: {"error": {"code", "message"}}. Every
request is kept in `calls` so tests can check what the page sent."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EMAIL, PASSWORD, TOKEN = "rep@example.com", "s3cret-pass", "standin-token-7"
ME = {"id": 7, "email": EMAIL, "full_name": "Rita Rep", "role": "sales_rep", "team_id": 1}


def sample_state() -> dict:
    now = datetime.now(UTC)
    lead = {"email": "x@example.com", "version": 1}
    return {
        "leads": [
            {**lead, "id": 11, "first_name": "Ann", "last_name": "Low", "company": "Acme",
             "status": "new", "owner_id": 7, "score": 35, "band": "C"},
            {**lead, "id": 12, "first_name": "Ben", "last_name": "High", "company": "Beta",
             "status": "working", "owner_id": 7, "score": 91, "band": "A"},
            {**lead, "id": 13, "first_name": "Cy", "last_name": "Mid", "company": "Gamma",
             "status": "new", "owner_id": 7, "score": 64, "band": "B"},
            {**lead, "id": 14, "first_name": "Di", "last_name": "Other", "company": "Delta",
             "status": "new", "owner_id": 8, "score": 99, "band": "A"},       # not mine
            {**lead, "id": 15, "first_name": "Ed", "last_name": "Done", "company": "Eps",
             "status": "qualified", "owner_id": 7, "score": 80, "band": "A"},  # not open
        ],
        "tasks": [
            {"id": 21, "title": "Call Ben", "priority": "high", "status": "open",
             "due_at": (now - timedelta(days=2)).isoformat(), "related_type": "lead",
             "related_id": 12, "assignee_id": 7, "version": 1},
            {"id": 22, "title": "Send proposal", "priority": "normal", "status": "open",
             "due_at": (now + timedelta(days=3)).isoformat(), "related_type": "deal",
             "related_id": 5, "assignee_id": 7, "version": 1},
            {"id": 23, "title": "Someone else's", "priority": "normal", "status": "open",
             "due_at": now.isoformat(), "related_type": None, "related_id": None,
             "assignee_id": 8, "version": 1},
        ],
    }


class StandInWorkApi:
    """The stand-in server on a free loopback port, in a thread."""

    def __init__(self):
        self.state = sample_state()
        self.calls: list[tuple[str, str, dict | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StandInWorkApi:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _send(self, status: int, body: dict | None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(status, {"error": {"code": code, "message": message,
                                              "request_id": "standin"}})

            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                api.calls.append((method, url.path, body if method == "POST" else query))
                path = url.path.removeprefix("/api/v1")
                if (method, path) == ("POST", "/auth/login"):
                    if body == {"email": EMAIL, "password": PASSWORD}:
                        return self._send(200, {"access_token": TOKEN, "refresh_token": "r",
                                                "token_type": "bearer", "expires_in": 900})
                    return self._error(401, "authentication_failed",
                                       "Wrong email or password.")
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._error(401, "not_authenticated", "Log in first.")
                if (method, path) == ("GET", "/auth/me"):
                    return self._send(200, ME)
                if (method, path) == ("GET", "/leads"):
                    assert query["owner_id"] == "me", query
                    wanted = query["status"].split(",")
                    items = sorted((x for x in api.state["leads"]
                                    if x["owner_id"] == ME["id"] and x["status"] in wanted),
                                   key=lambda x: -x["score"] if query["sort"] == "-score"
                                   else x["score"])
                    return self._send(200, {"items": items[:int(query["limit"])],
                                            "next_cursor": None})
                if (method, path) == ("GET", "/tasks"):
                    assert query["assignee_id"] == "me", query
                    items = sorted((t for t in api.state["tasks"]
                                    if t["assignee_id"] == ME["id"]
                                    and t["status"] == query["status"]),
                                   key=lambda t: t[query["sort"]])
                    return self._send(200, {"items": items[:int(query["limit"])],
                                            "next_cursor": None})
                if method == "POST" and (m := re.fullmatch(
                        r"/(leads|tasks)/(\d+)/(qualify|disqualify|complete)", path)):
                    kind, key, action = m.group(1), int(m.group(2)), m.group(3)
                    row = next((r for r in api.state[kind] if r["id"] == key), None)
                    if row is None:
                        return self._error(404, "not_found", f"No {kind[:-1]} {key}.")
                    if action == "disqualify" and not (body or {}).get("reason"):
                        return self._error(422, "validation_error", "reason: required")
                    row["status"] = {"qualify": "qualified", "disqualify": "disqualified",
                                     "complete": "completed"}[action]
                    row["version"] += 1
                    return self._send(200, row)
                return self._error(404, "not_found", "Not Found")

        return Handler
