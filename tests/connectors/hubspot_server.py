"""A local HTTP server speaking HubSpot CRM API v3's documented shapes, for tests.

Objects live in memory; list endpoints page with `paging.next.after`, search filters on a
last-modified property with GTE and sorts ascending, batch read returns properties with
their history (newest first), batch update writes them (a 207 with OBJECT_NOT_FOUND for
unknown ids), `failures` queues responses (429s with Retry-After, 500s, ...) served
before the next real ones, and `stalls` makes the next requests answer late.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "pat-test-token"
MODIFIED = {"contacts": "lastmodifieddate"}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HubSpotServer:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.owners: list[dict[str, Any]] = []
        self.pipelines: list[dict[str, Any]] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.fail_from: int | None = None  # every request from this number on gets a 500
        self.requests: list[str] = []
        self.headers: dict[str, str] = {}  # extra headers on successful answers
        self.history: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
        self.updates: list[dict[str, Any]] = []  # every batch update's inputs, in order
        self.stalls: list[float] = []  # seconds the next requests wait before answering
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def put(self, object_type: str, obj_id: str, modified_ms: int, **properties: Any) -> None:
        prop = MODIFIED.get(object_type, "hs_lastmodifieddate")
        self.objects.setdefault(object_type, {})[obj_id] = {
            "id": obj_id, "properties": {**properties, prop: iso(modified_ms),
                                         "hs_object_id": obj_id},
            "createdAt": iso(1_700_000_000_000), "updatedAt": iso(modified_ms),
            "archived": False}
        self.history[(object_type, obj_id)] = {
            name: [{"value": str(value), "timestamp": iso(modified_ms),
                    "sourceType": "CRM_UI"}] for name, value in properties.items()}

    def edit(self, object_type: str, obj_id: str, modified_ms: int, **properties: Any) -> None:
        """A user changes properties in HubSpot at `modified_ms`."""
        self._set(object_type, obj_id, properties, modified_ms, "CRM_UI")

    def _set(self, object_type: str, obj_id: str, properties: dict[str, Any], at_ms: int,
             source: str) -> None:
        obj = self.objects[object_type][obj_id]
        prop = MODIFIED.get(object_type, "hs_lastmodifieddate")
        obj["properties"].update({k: None if v is None else str(v)
                                  for k, v in properties.items()}, **{prop: iso(at_ms)})
        obj["updatedAt"] = iso(at_ms)
        history = self.history.setdefault((object_type, obj_id), {})
        for name, value in properties.items():
            history.setdefault(name, []).insert(0, {"value": value, "timestamp": iso(at_ms),
                                                    "sourceType": source})

    def remove(self, object_type: str, obj_id: str) -> None:
        del self.objects[object_type][obj_id]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                url = urlparse(self.path)
                with server.lock:
                    server.requests.append(f"{self.command} {url.path}")
                    number = len(server.requests)
                    failure = server.failures.pop(0) if server.failures else None
                    stall = server.stalls.pop(0) if server.stalls else 0.0
                if stall:
                    time.sleep(stall)  # the client times out meanwhile
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"status": "error",
                                            "message": "Authentication credentials not found.",
                                            "category": "INVALID_AUTHENTICATION"})
                if failure is None and server.fail_from and number >= server.fail_from:
                    failure = (500, {})
                if failure:
                    status, headers = failure
                    return self._send(status, {"status": "error", "message": "try later",
                                               "category": "RATE_LIMITS" if status == 429
                                               else "INTERNAL_ERROR"}, headers)
                answer = self._answer(url.path, parse_qs(url.query), body)
                return self._send(207 if answer.get("errors") else 200, answer,
                                  server.headers)

            def _answer(self, path: str, query: dict[str, list[str]],
                        body: dict[str, Any]) -> dict[str, Any]:
                parts = path.strip("/").split("/")
                if parts[:3] == ["crm", "v3", "owners"]:
                    return _page(server.owners, query, None)
                if parts[:3] == ["crm", "v3", "pipelines"]:
                    return {"results": server.pipelines}
                object_type = parts[3]
                if parts[4:] == ["batch", "read"]:
                    return self._batch_read(object_type, body)
                if parts[4:] == ["batch", "update"]:
                    return self._batch_update(object_type, body)
                items = list(server.objects.get(object_type, {}).values())
                if len(parts) == 5 and parts[4] == "search":
                    [flt] = body["filterGroups"][0]["filters"]
                    since = int(flt["value"])
                    prop = flt["propertyName"]
                    items = [o for o in items
                             if _ms(o["properties"][prop]) >= since]
                    items.sort(key=lambda o: (_ms(o["properties"][prop]), o["id"]))
                    page = _page(items, {"limit": [str(body.get("limit", 10))],
                                         "after": [body["after"]] if body.get("after") else []},
                                 None)
                    return {"total": len(items), **page}
                return _page(items, query, query.get("associations"))

            def _batch_read(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
                known = server.objects.get(object_type, {})
                results = []
                for item in body["inputs"]:
                    if item["id"] not in known:
                        continue
                    obj = known[item["id"]]
                    history = server.history.get((object_type, item["id"]), {})
                    results.append({
                        **obj, "properties": {p: obj["properties"].get(p)
                                              for p in body.get("properties", [])},
                        "propertiesWithHistory": {p: history.get(p, [])
                                                  for p in body.get("propertiesWithHistory",
                                                                    [])}})
                return {"status": "COMPLETE", "results": results}

            def _batch_update(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
                known = server.objects.get(object_type, {})
                now = int(datetime.now(UTC).timestamp() * 1000)
                missing = [i["id"] for i in body["inputs"] if i["id"] not in known]
                with server.lock:
                    server.updates.append(body["inputs"])
                    for item in body["inputs"]:
                        if item["id"] in known:
                            server._set(object_type, item["id"], item["properties"], now,
                                        "INTEGRATION")
                results = [known[i["id"]] for i in body["inputs"] if i["id"] in known]
                answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
                if missing:
                    answer["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                                         "message": "Object not found",
                                         "context": {"ids": missing}}]
                    answer["numErrors"] = len(missing)
                return answer

            def _send(self, status: int, payload: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _page(items: list[dict[str, Any]], query: dict[str, list[str]],
          associations: list[str] | None) -> dict[str, Any]:
    limit = int(query.get("limit", ["10"])[0])
    start = int((query.get("after") or ["0"])[0])
    page = items[start:start + limit]
    if associations:
        page = [{**o, "associations": {}} for o in page]
    out: dict[str, Any] = {"results": page}
    if start + limit < len(items):
        out["paging"] = {"next": {"after": str(start + limit),
                                  "link": f"?after={start + limit}"}}
    return out
