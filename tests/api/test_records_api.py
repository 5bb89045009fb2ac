"""The record modules end to end: pages, filters, sorting, search, duplicates, optimistic
locking under concurrency, trash, audit entries and outbox events, and the rules of leads,
deals and tasks."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from salesops.models import Contract
from tests.api.personas import CLIENT_IP


@pytest.fixture
def rep(personas):
    return personas["rep"]["headers"]


def _contact(client, headers, **fields):
    r = client.post("/api/v1/contacts", json=fields, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _all_pages(client, url, headers, limit):
    ids, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        r = client.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""),
                       headers=headers)
        assert r.status_code == 200, r.text
        ids += [i["id"] for i in r.json()["items"]]
        cursor, pages = r.json()["next_cursor"], pages + 1
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize("sort", ["last_name", "-last_name", "id", "-updated_at"])
def test_cursor_pages_neither_skip_nor_repeat(client, rep, sort):
    for name in ["Baker", "Adams", "Baker", None, "Baker", "Clark", None]:
        _contact(client, rep, first_name="X", last_name=name)
    whole = client.get(f"/api/v1/contacts?sort={sort}&limit=200", headers=rep).json()
    expected = [i["id"] for i in whole["items"]]
    assert len(expected) == 7 and whole["next_cursor"] is None
    ids, pages = _all_pages(client, f"/api/v1/contacts?sort={sort}", rep, 2)
    assert ids == expected and pages == 4
    names = [i["last_name"] for i in whole["items"]]
    if "last_name" in sort:
        present = [n for n in names if n is not None]
        assert present == sorted(present, reverse=sort.startswith("-"))
        assert names[-2:] == [None, None]  # nulls last either way


def test_a_cursor_only_fits_its_own_sort(client, rep):
    for i in range(3):
        _contact(client, rep, last_name=f"N{i}")
    cursor = client.get("/api/v1/contacts?limit=1&sort=last_name",
                        headers=rep).json()["next_cursor"]
    r = client.get(f"/api/v1/contacts?limit=1&sort=id&cursor={cursor}", headers=rep)
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"


def test_filters_and_owner_me(client, personas):
    rep, rep2 = personas["rep"]["headers"], personas["rep2"]["headers"]
    mine = _contact(client, rep, last_name="Mine", lifecycle_stage="mql")
    _contact(client, rep, last_name="Mine too", lifecycle_stage="customer")
    _contact(client, rep2, last_name="Theirs", lifecycle_stage="mql")
    r = client.get("/api/v1/contacts?owner_id=me&lifecycle_stage=mql,sql", headers=rep)
    assert [i["id"] for i in r.json()["items"]] == [mine["id"]]
    both = client.get("/api/v1/contacts?lifecycle_stage=mql", headers=rep).json()["items"]
    assert {i["last_name"] for i in both} == {"Mine", "Theirs"}  # the team's, read only
    bad = client.get("/api/v1/contacts?owner_id=someone", headers=rep)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_filter"


def test_search_tolerates_typos_and_respects_permissions(client, personas):
    rep, west = personas["rep"]["headers"], personas["rep_west"]["headers"]
    john = _contact(client, rep, first_name="John", last_name="Smith", email="js@acme.io")
    _contact(client, rep, first_name="Maria", last_name="Garcia")
    _contact(client, west, first_name="Johnny", last_name="Smith")
    found = client.get("/api/v1/contacts?q=Jonh Smiht", headers=rep).json()["items"]
    assert [i["id"] for i in found] == [john["id"]]  # the West contact is not the rep's to see
    by_email = client.get("/api/v1/contacts?q=js@acme", headers=rep).json()["items"]
    assert [i["id"] for i in by_email] == [john["id"]]
    admin = personas["admin"]["headers"]
    ranked = client.get("/api/v1/contacts?q=John Smith", headers=admin).json()["items"]
    assert [i["first_name"] for i in ranked] == ["John", "Johnny"]  # closest first
    analyst = personas["analyst"]["headers"]  # may not see emails, so may not probe them
    assert client.get("/api/v1/contacts?q=js@acme", headers=analyst).json()["items"] == []


def test_hidden_fields_cannot_be_sorted_on_or_read_from_the_audit(client, personas,
                                                                  clean_db):
    _contact(client, personas["rep"]["headers"], last_name="Priv", email="priv@secret.io",
             phone="+1 555 0123")
    r = client.get("/api/v1/deals?sort=-amount", headers=personas["analyst"]["headers"])
    assert r.status_code == 422 and r.json()["code"] == "invalid_sort"
    assert client.get("/api/v1/deals?sort=-amount",
                      headers=personas["rep"]["headers"]).status_code == 200
    with clean_db.connect() as conn:
        logged = conn.execute(sa.text("select after::text from app.audit_logs "
                                      "where entity = 'contacts'")).scalar()
    assert "secret.io" not in logged and "0123" not in logged


def test_duplicates_warn_and_same_email_conflicts(client, rep):
    first = _contact(client, rep, first_name="Katherine", last_name="Johnson",
                     email="kj@nasa.example")
    similar = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Catherine", "last_name": "Johnson"})
    assert similar.status_code == 201
    assert [d["contact_id"] for d in similar.json()["duplicates"]] == [first["id"]]
    same = client.post("/api/v1/contacts", headers=rep, json={
        "last_name": "K", "email": "KJ+work@nasa.example"})
    assert same.status_code == 409
    assert same.json()["code"] == "duplicate_contact"
    assert same.json()["existing_id"] == first["id"]


def test_two_writers_one_wins_the_other_gets_409_and_nothing_is_lost(client, rep, clean_db):
    contact = _contact(client, rep, last_name="Race")
    barrier = threading.Barrier(2)
    results = {}

    def write(field, value):
        barrier.wait()
        results[field] = client.patch(f"/api/v1/contacts/{contact['id']}", headers=rep,
                                      json={field: value, "version": 1})

    threads = [threading.Thread(target=write, args=a)
               for a in (("title", "CEO"), ("first_name", "Rae"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [200, 409]
    loser = next(f for f, r in results.items() if r.status_code == 409)
    assert results[loser].json()["code"] == "stale_version"
    # the loser reloads and retries: both changes are kept
    current = client.get(f"/api/v1/contacts/{contact['id']}", headers=rep)
    assert current.headers["ETag"] == '"2"'
    retry = client.patch(f"/api/v1/contacts/{contact['id']}", headers={**rep, "If-Match":
                         current.headers["ETag"]},
                         json={loser: {"title": "CEO", "first_name": "Rae"}[loser]})
    assert retry.status_code == 200
    assert (retry.json()["title"], retry.json()["first_name"], retry.json()["version"]) == \
        ("CEO", "Rae", 3)
    with clean_db.connect() as conn:
        updates = conn.execute(sa.text("select count(*) from app.audit_logs where entity = "
                                       "'contacts' and action = 'update'")).scalar()
    assert updates == 2  # the refused write left no trace


def test_an_update_needs_the_version(client, rep):
    contact = _contact(client, rep, last_name="V")
    r = client.patch(f"/api/v1/contacts/{contact['id']}", json={"title": "x"}, headers=rep)
    assert r.status_code == 422 and r.json()["code"] == "version_required"


def test_trash_and_restore(client, rep):
    contact = _contact(client, rep, last_name="Gone", email="gone@ex.io")
    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=rep).status_code == 204
    assert client.get(f"/api/v1/contacts/{contact['id']}", headers=rep).status_code == 404
    listed = client.get("/api/v1/contacts", headers=rep).json()["items"]
    assert contact["id"] not in [i["id"] for i in listed]
    trash = client.get("/api/v1/contacts?deleted=true", headers=rep).json()["items"]
    assert [i["id"] for i in trash] == [contact["id"]]
    # the address is free while the contact is in the trash; restoring then conflicts
    other = _contact(client, rep, last_name="New", email="gone@ex.io")
    assert client.post(f"/api/v1/contacts/{contact['id']}/restore",
                       headers=rep).status_code == 409
    client.delete(f"/api/v1/contacts/{other['id']}", headers=rep)
    back = client.post(f"/api/v1/contacts/{contact['id']}/restore", headers=rep)
    assert back.status_code == 200 and back.json()["deleted_at"] is None


def test_every_write_is_audited_masked_with_its_event(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    contact = _contact(client, rep, last_name="Audit", phone="+1 555 0199")
    r = client.patch(f"/api/v1/contacts/{contact['id']}", json={
        "phone": "+1 555 0200", "title": "CTO", "version": 1},
        headers={**rep, "X-Request-ID": "req-audit-1"})
    assert r.status_code == 200
    with clean_db.connect() as conn:
        rows = conn.execute(sa.text(
            "select action, user_id, entity_id, before, after, request_id, host(ip) "
            "from app.audit_logs where entity = 'contacts' order by id")).all()
        topics = conn.execute(sa.text(
            "select topic from app.events where aggregate_type = 'contact' "
            "order by id")).scalars().all()
    assert [r.action for r in rows] == ["create", "update"]
    create, update = rows
    assert create.after["phone"] == "***" and create.after["last_name"] == "Audit"
    assert update.before == {"phone": "***", "title": None, "version": 1}
    assert update.after == {"phone": "***", "title": "CTO", "version": 2}
    assert (update.user_id, update.entity_id, update.request_id, update.host) == (
        personas["rep"]["id"], str(contact["id"]), "req-audit-1", CLIENT_IP)
    assert topics == ["contact.created", "contact.updated"]
    entries = client.get(f"/api/v1/audit-logs?entity=contacts&entity_id={contact['id']}",
                         headers=personas["admin"]["headers"]).json()["items"]
    assert [e["action"] for e in entries] == ["update", "create"]
    assert "0200" not in str(entries)


def test_audit_entries_cannot_be_changed(client, personas, clean_db):
    _contact(client, personas["rep"]["headers"], last_name="Keep")
    admin = personas["admin"]["headers"]
    count = "select count(*), max(action) from app.audit_logs"
    with clean_db.connect() as conn:
        before = conn.execute(sa.text(count)).one()
    for method in ("put", "patch", "delete", "post"):
        r = getattr(client, method)("/api/v1/audit-logs", headers=admin)
        assert r.status_code == 405, method
    for sql in ("update app.audit_logs set action = 'x'", "delete from app.audit_logs"):
        with clean_db.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(sa.text(sql))
    with clean_db.connect() as conn:
        assert conn.execute(sa.text(count)).one() == before


def _lead(client, email):
    r = client.post("/api/v1/forms/demo/submissions", json={
        "fields": {"email": email, "first_name": "Ann", "last_name": email[:3],
                   "company": "Acme " + email[:3]}})
    return r.json()["lead_id"]


def _assign(clean_db, lead_ids, owner_id):
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.leads set owner_id = :o where id = any(:ids)"),
                     {"o": owner_id, "ids": lead_ids})


def _score(clean_db, lead_id, score, band, when):
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "insert into ml.lead_scores (lead_id, score, band, probability, model_name, "
            "model_version, mlflow_run_id, scored_at) values (:l, :s, :b, :s / 100.0, "
            "'lead_score', '1', 'run', now() - make_interval(days => :d))"),
            {"l": lead_id, "s": score, "b": band, "d": when})


def _action(clean_db, lead_id, action, rank, when):
    with clean_db.begin() as conn:
        conn.execute(sa.text(
            "insert into ml.next_best_actions (lead_id, action, rank, confidence, rationale, "
            "model_name, model_version, mlflow_run_id, scored_at) values (:l, :a, :r, 0.4, "
            "'because', 'next_best_action', '1', 'run', now() - make_interval(days => :d))"),
            {"l": lead_id, "a": action, "r": rank, "d": when})


def test_the_work_queue_contract(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    top, middle, unscored, done, other = (_lead(client, f"{n}@ex.io")
                                          for n in ("top", "mid", "uns", "don", "oth"))
    _assign(clean_db, [top, middle, unscored, done], personas["rep"]["id"])
    _assign(clean_db, [other], personas["rep2"]["id"])
    _score(clean_db, top, 20, "D", when=3)
    _score(clean_db, top, 90, "A", when=1)  # the latest counts
    _score(clean_db, middle, 55, "B", when=1)
    _score(clean_db, other, 99, "A", when=1)
    _action(clean_db, top, "email", 1, when=3)
    _action(clean_db, top, "call", 2, when=1)
    _action(clean_db, top, "meeting", 1, when=1)  # rank 1 of the latest run
    client.post(f"/api/v1/leads/{done}/disqualify", json={"reason": "student"}, headers=rep)
    url = "/api/v1/leads?owner_id=me&status=new,working&sort=-score&limit=2"
    first = client.get(url, headers=rep).json()
    assert [(i["id"], i["score"], i["band"]) for i in first["items"]] == [
        (top, 90, "A"), (middle, 55, "B")]
    item = first["items"][0]
    assert {"id", "first_name", "last_name", "email", "company", "status", "owner_id",
            "score", "band", "version"} <= set(item)
    assert item["email"] == "top@ex.io" and item["owner_id"] == personas["rep"]["id"]
    assert (item["next_best_action"], item["next_best_action_reason"]) == ("meeting", "because")
    assert first["items"][1]["next_best_action"] is None
    second = client.get(f"{url}&cursor={first['next_cursor']}", headers=rep).json()
    assert [(i["id"], i["score"], i["band"]) for i in second["items"]] == [
        (unscored, None, None)]
    assert second["next_cursor"] is None

    q = client.post(f"/api/v1/leads/{top}/qualify", json={}, headers=rep)
    assert q.status_code == 200 and q.json()["status"] == "qualified"
    assert client.post(f"/api/v1/leads/{middle}/qualify", headers=rep).status_code == 200
    d = client.post(f"/api/v1/leads/{unscored}/disqualify", json={"reason": "No budget"},
                    headers=rep)
    assert d.status_code == 200
    assert (d.json()["status"], d.json()["disqualified_reason"]) == ("disqualified",
                                                                     "No budget")
    again = client.post(f"/api/v1/leads/{unscored}/qualify", json={}, headers=rep)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    blank = client.post(f"/api/v1/leads/{middle}/disqualify", json={"reason": "  "},
                        headers=rep)
    assert blank.status_code == 422


def test_converting_a_lead_opens_a_deal_on_its_contact(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    lead = _lead(client, "conv@ex.io")
    _assign(clean_db, [lead], personas["rep"]["id"])
    r = client.post(f"/api/v1/leads/{lead}/convert", json={
        "amount": "5000.00", "expected_close_date": "2030-06-30"}, headers=rep)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["converted_deal_id"] == body["deal_id"]
    deal = client.get(f"/api/v1/deals/{body['deal_id']}", headers=rep).json()
    assert (deal["stage"], deal["probability"], deal["forecast_category"], deal["owner_id"],
            deal["lead_id"], deal["contact_id"]) == (
        "Prospecting", 10, "pipeline", personas["rep"]["id"], lead, body["contact_id"])
    contact = client.get(f"/api/v1/contacts/{body['contact_id']}", headers=rep).json()
    assert contact["lifecycle_stage"] == "opportunity"
    assert contact["account_id"] == body["account_id"] == deal["account_id"]
    assert client.post(f"/api/v1/leads/{lead}/convert", headers=rep).status_code == 409


def test_deal_transition_rules_history_and_contract(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    stages = {s["name"]: s["id"] for s in
              client.get("/api/v1/pipelines", headers=rep).json()[0]["stages"]}
    deal = client.post("/api/v1/deals", json={"name": "Big one"}, headers=rep).json()
    moved = client.post(f"/api/v1/deals/{deal['id']}/move", headers=rep,
                        json={"stage_id": stages["Proposal"], "version": 1})
    assert (moved.json()["probability"], moved.json()["forecast_category"]) == (60,
                                                                               "best_case")
    refused = client.post(f"/api/v1/deals/{deal['id']}/won", json={}, headers=rep)
    assert refused.status_code == 422
    assert refused.json()["code"] == "won_needs_amount_and_close_date"
    assert client.get(f"/api/v1/deals/{deal['id']}", headers=rep).json()["version"] == 2
    client.patch(f"/api/v1/deals/{deal['id']}", headers=rep, json={
        "amount": "12000.00", "expected_close_date": "2030-03-31", "version": 2})
    won = client.post(f"/api/v1/deals/{deal['id']}/won", json={}, headers=rep).json()
    assert (won["stage"], won["is_won"], won["probability"]) == ("Closed Won", True, 100)
    assert won["contract_id"] is not None
    history = client.get(f"/api/v1/deals/{deal['id']}/history", headers=rep).json()
    assert [h["stage"] for h in history] == ["Prospecting", "Proposal", "Closed Won"]
    assert all(h["exited_at"] for h in history[:-1]) and history[-1]["exited_at"] is None
    with clean_db.connect() as conn:  # the model's column opens the sealed value
        contract = conn.execute(sa.select(Contract.value, Contract.status)
                                .where(Contract.deal_id == deal["id"])).one()
    assert (float(contract.value), contract.status) == (12000.0, "draft")
    closed = client.post(f"/api/v1/deals/{deal['id']}/move", headers=rep,
                         json={"stage_id": stages["Negotiation"]})
    assert closed.status_code == 409 and closed.json()["code"] == "deal_closed"

    other = client.post("/api/v1/deals", json={"name": "Small one"}, headers=rep).json()
    no_reason = client.post(f"/api/v1/deals/{other['id']}/move", headers=rep,
                            json={"stage_id": stages["Closed Lost"]})
    assert no_reason.json()["code"] == "reason_required"
    lost = client.post(f"/api/v1/deals/{other['id']}/lost", json={"reason": "Price"},
                       headers=rep).json()
    assert (lost["is_won"], lost["loss_reason"], lost["stage"]) == (False, "Price",
                                                                   "Closed Lost")


def test_tasks_queue_and_completion_moves_a_new_lead_to_working(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    lead = _lead(client, "task@ex.io")
    _assign(clean_db, [lead], personas["rep"]["id"])
    late = client.post("/api/v1/tasks", headers=rep, json={
        "title": "Later", "due_at": "2030-02-01T09:00:00Z", "priority": "low"}).json()
    soon = client.post("/api/v1/tasks", headers=rep, json={
        "title": "Call Ann", "due_at": "2030-01-01T09:00:00Z", "priority": "high",
        "related_type": "lead", "related_id": lead}).json()
    undated = client.post("/api/v1/tasks", headers=rep, json={"title": "Someday"}).json()
    queue = client.get("/api/v1/tasks?assignee_id=me&status=open&sort=due_at&limit=50",
                       headers=rep).json()
    assert [i["id"] for i in queue["items"]] == [soon["id"], late["id"], undated["id"]]
    item = queue["items"][0]
    assert (item["related_type"], item["related_id"], item["priority"]) == ("lead", lead,
                                                                           "high")
    done = client.post(f"/api/v1/tasks/{soon['id']}/complete", headers=rep)
    assert done.status_code == 200
    assert done.json()["status"] == "completed" and done.json()["completed_at"]
    assert client.get(f"/api/v1/leads/{lead}", headers=rep).json()["status"] == "working"
    open_now = client.get("/api/v1/tasks?assignee_id=me&status=open", headers=rep).json()
    assert soon["id"] not in [i["id"] for i in open_now["items"]]
    reopened = client.patch(f"/api/v1/tasks/{soon['id']}", headers=rep,
                            json={"status": "open", "version": 2})
    assert reopened.json()["completed_at"] is None
