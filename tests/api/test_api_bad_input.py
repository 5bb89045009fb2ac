"""Bad input: a 4xx with a clear error body, and nothing stored."""

from __future__ import annotations

import sqlalchemy as sa

INJECTIONS = ["'; drop table app.contacts; --", "1 or 1=1", "<script>alert(1)</script>",
              "=HYPERLINK(\"http://evil.example\")", "a\u202eb", "\u200b", "👩‍💻"]


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "select (select count(*) from app.contacts), (select count(*) from app.tasks), "
            "(select count(*) from app.audit_logs)")).one())


def _is_clear_error(r, status=None) -> None:
    assert 400 <= r.status_code < 500, r.text
    if status:
        assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == r.status_code and problem["type"].endswith(problem["code"])
    assert problem["title"] and problem["detail"] and problem["instance"].startswith("/api/v1")
    assert problem["request_id"] == r.headers["X-Request-ID"]


BAD_CONTACTS = [
    {"first_name": 123},
    {"first_name": ["a"]},
    {"last_name": "x" * 100_000},
    {"last_name": "nul\x00byte"},
    {"last_name": "ok", "owner_id": "me"},
    {"last_name": "ok", "owner_id": 2**63},
    {"last_name": "ok", "email": "not an email"},
    {"last_name": "ok", "lifecycle_stage": "'; drop table app.contacts; --"},
    {"last_name": "ok", "is_admin": True},
    {},
]
BAD_QUERIES = [
    "limit=100000", "limit=0", "limit=-1", "limit=abc", "sort=name;drop", "sort=phone",
    "sort=-nope", "cursor=%27%20or%201%3D1", "cursor=" + "A" * 2000, "owner_id=1%20or%201=1",
    "owner_id=99999999999999999999", "updated_since=yesterday", "q=%00", "q=" + "x" * 300,
    "lifecycle_stage=a%00b", "deleted=maybe",
]
BAD_PATHS = ["/api/v1/contacts/abc", "/api/v1/contacts/0",
             "/api/v1/contacts/99999999999999999999", "/api/v1/contacts/1%20or%201=1"]


def test_bad_contact_bodies_store_nothing(client, personas, clean_db):
    before = _counts(clean_db)
    for body in BAD_CONTACTS:
        r = client.post("/api/v1/contacts", json=body, headers=personas["rep"]["headers"])
        _is_clear_error(r, 422)
    assert _counts(clean_db) == before


def test_bad_list_queries_and_ids_are_4xx(client, personas):
    for query in BAD_QUERIES:
        _is_clear_error(client.get(f"/api/v1/contacts?{query}",
                                   headers=personas["rep"]["headers"]), 422)
    for path in BAD_PATHS:
        _is_clear_error(client.get(path, headers=personas["rep"]["headers"]), 422)


def test_bad_versions_and_task_bodies(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    contact = client.post("/api/v1/contacts", json={"last_name": "V"}, headers=rep).json()
    url = f"/api/v1/contacts/{contact['id']}"
    for headers in ({"If-Match": "yesterday"}, {"If-Match": '"1" or 1=1'}):
        _is_clear_error(client.patch(url, json={"title": "x"}, headers={**rep, **headers}),
                        422)
    _is_clear_error(client.patch(url, json={"title": "x", "version": 1},
                                 headers={**rep, "If-Match": '"2"'}), 422)
    before = _counts(clean_db)
    for body in ({"title": "t", "priority": "asap"}, {"title": "t", "due_at": "soon"},
                 {"title": "t", "related_type": "lead"}, {"title": ""},
                 {"title": "t", "status": "completed"}):
        _is_clear_error(client.post("/api/v1/tasks", json=body, headers=rep), 422)
    assert _counts(clean_db) == before
    garbage = client.post("/api/v1/tasks", content=b"{not json", headers={
        **rep, "Content-Type": "application/json"})
    _is_clear_error(garbage, 422)


def test_injection_strings_are_data_not_code(client, personas, clean_db):
    """Free text is stored as written and comes back the same; searching with it finds
    only itself; the tables are untouched."""
    rep = personas["rep"]["headers"]
    for text in INJECTIONS:
        r = client.post("/api/v1/contacts", json={"last_name": text, "title": text},
                        headers=rep)
        assert r.status_code == 201, r.text
        assert r.json()["last_name"] == text
        found = client.get("/api/v1/contacts", params={"q": text}, headers=rep)
        assert found.status_code == 200
    assert _counts(clean_db)[0] == len(INJECTIONS)
    evil = client.get("/api/v1/contacts", params={"q": INJECTIONS[0]}, headers=rep).json()
    assert [i["last_name"] for i in evil["items"]][:1] == [INJECTIONS[0]]


def test_unauthenticated_and_forged_callers_get_401(client, personas):
    for headers in ({}, {"Authorization": "Bearer x.y.z"}, {"X-API-Key": "so_nope_nope"},
                    {"X-API-Key": "x" * 5000}):
        _is_clear_error(client.get("/api/v1/leads", headers=headers), 401)
