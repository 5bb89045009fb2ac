"""Notes (private bodies are a sensitive field) and attachments (limits, safe names,
streamed download with the permission check, audited) of contacts and accounts."""

from __future__ import annotations

import asyncio
import hashlib

import sqlalchemy as sa
from fastapi.testclient import TestClient

from salesops.domain.attachments import Incoming

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


def _contact(client, headers, name="Notes") -> int:
    r = client.post("/api/v1/contacts", json={"last_name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _audit(engine, entity: str, entity_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select action, before, after from app.audit_logs where entity = :e and "
            "entity_id = :i order by id"), {"e": entity, "i": str(entity_id)}).all()


def test_private_note_bodies_are_hidden_from_roles_that_may_not_see_them(
        client, personas, clean_db):
    rep = personas["rep"]["headers"]
    contact = _contact(client, rep)
    url = f"/api/v1/contacts/{contact}/notes"
    public = client.post(url, json={"body": "Met at the fair."}, headers=rep)
    private = client.post(url, json={"body": "Divorce pending; careful.", "is_private": True},
                          headers=rep)
    assert public.status_code == private.status_code == 201
    assert private.json()["body"] == "Divorce pending; careful."

    def bodies(persona):
        r = client.get(url, headers=personas[persona]["headers"])
        assert r.status_code == 200, (persona, r.text)
        return [(n["body"], n["hidden_fields"]) for n in r.json()["items"]]

    assert bodies("manager") == [("Divorce pending; careful.", []), ("Met at the fair.", [])]
    for persona in ("marketing", "analyst"):
        assert bodies(persona) == [(None, ["body"]), ("Met at the fair.", [])], persona
    assert client.get(url, headers=personas["rep_west"]["headers"]).status_code == 404
    assert client.post(url, json={"body": "x"},
                       headers=personas["rep2"]["headers"]).status_code == 403

    entries = _audit(clean_db, "notes", private.json()["id"])
    assert [(a, after["body"]) for a, _, after in entries] == [("create", "***")]

    note = private.json()["id"]
    assert client.delete(f"/api/v1/notes/{note}",
                         headers=personas["rep2"]["headers"]).status_code == 403
    assert client.delete(f"/api/v1/notes/{note}", headers=rep).status_code == 204
    assert [n["id"] for n in client.get(url, headers=rep).json()["items"]] == \
        [public.json()["id"]]
    assert [a for a, _, _ in _audit(clean_db, "notes", note)] == ["create", "delete"]


def test_notes_page_and_validate(client, personas):
    rep = personas["rep"]["headers"]
    account = client.post("/api/v1/accounts", json={"name": "Paged"}, headers=rep).json()
    url = f"/api/v1/accounts/{account['id']}/notes"
    made = [client.post(url, json={"body": f"n{i}"}, headers=rep).json()["id"]
            for i in range(3)]
    first = client.get(url, params={"limit": 2}, headers=rep).json()
    rest = client.get(url, params={"limit": 2, "cursor": first["next_cursor"]},
                      headers=rep).json()
    assert [n["id"] for n in first["items"] + rest["items"]] == made[::-1]
    assert rest["next_cursor"] is None
    for bad in ({"body": ""}, {"body": "x" * 20001}, {"body": "a\x00b"}, {"text": "x"}):
        r = client.post(url, json=bad, headers=rep)
        assert r.status_code == 422 and r.json()["errors"], bad


def test_attachments_upload_list_download_delete(client, app, personas, clean_db):
    rep = personas["rep"]["headers"]
    contact = _contact(client, rep, "Files")
    url = f"/api/v1/contacts/{contact}/attachments"
    r = client.post(url, params={"filename": "../../etc/Offer\u202e.pdf"}, content=PDF,
                    headers={**rep, "Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["filename"] == "Offer.pdf" and made["content_type"] == "application/pdf"
    assert made["size_bytes"] == len(PDF) and made["sha256"] == hashlib.sha256(PDF).hexdigest()

    root = app.state.settings.attachments_path
    with clean_db.connect() as conn:
        stored = conn.scalar(sa.text("select stored_name from app.attachments where id = :i"),
                             {"i": made["id"]})
    assert stored.isalnum() and (root / stored[:2] / stored).read_bytes() == PDF

    assert [a["id"] for a in client.get(url, headers=personas["analyst"]["headers"]).json()] \
        == [made["id"]]
    download = client.get(f"/api/v1/attachments/{made['id']}",
                          headers=personas["marketing"]["headers"])
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/api/v1/attachments/{made['id']}",
                      headers=personas["rep_west"]["headers"]).status_code == 404
    assert client.post(url, params={"filename": "a.txt"}, content=b"hi",
                       headers={**personas["rep2"]["headers"],
                                "Content-Type": "text/plain"}).status_code == 403

    assert client.delete(f"/api/v1/attachments/{made['id']}",
                         headers=personas["rep2"]["headers"]).status_code == 403
    assert client.delete(f"/api/v1/attachments/{made['id']}", headers=rep).status_code == 204
    assert client.get(url, headers=rep).json() == []
    assert client.get(f"/api/v1/attachments/{made['id']}", headers=rep).status_code == 404
    assert [a for a, _, _ in _audit(clean_db, "attachments", made["id"])] == \
        ["create", "download", "delete"]


def test_attachment_limits_are_clear_problems_and_leave_nothing(client, app, personas,
                                                                clean_db, tmp_path):
    app.state.settings = app.state.settings.model_copy(
        update={"attachment_max_bytes": 1000, "data_dir": tmp_path})
    rep = personas["rep"]["headers"]
    url = f"/api/v1/contacts/{_contact(client, rep, 'Limits')}/attachments"
    too_big = client.post(url, params={"filename": "big.pdf"}, content=PDF,
                          headers={**rep, "Content-Type": "application/pdf"})
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    assert too_big.headers["content-type"] == "application/problem+json"

    def chunks():  # no Content-Length: refused while streaming
        for _ in range(5):
            yield b"x" * 400

    streamed = client.post(url, params={"filename": "big.txt"}, content=chunks(),
                           headers={**rep, "Content-Type": "text/plain"})
    assert streamed.status_code == 413
    exe = client.post(url, params={"filename": "setup.exe"}, content=b"MZ",
                      headers={**rep, "Content-Type": "application/x-msdownload"})
    assert exe.status_code == 415 and "application/pdf" in exe.json()["accepted"]
    unknown = client.post(url, params={"filename": "noext"}, content=b"?",
                          headers={**rep, "Content-Type": "application/octet-stream"})
    assert unknown.status_code == 415
    root = app.state.settings.attachments_path
    assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
    with clean_db.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from app.attachments")) == 0


def test_a_failed_commit_leaves_no_file_and_disk_writes_run_off_the_event_loop(
        app, personas, clean_db, tmp_path, monkeypatch):
    """The attachment row fails at COMMIT (a deferred constraint trigger, as a serialization
    failure or a lost connection would): the file already put in place goes too."""
    app.state.settings = app.state.settings.model_copy(update={"data_dir": tmp_path})
    root = app.state.settings.attachments_path
    on_loop: list[bool] = []
    write = Incoming.write

    def watched(self, chunk: bytes) -> None:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread: no event loop here
            on_loop.append(False)
        write(self, chunk)

    monkeypatch.setattr(Incoming, "write", watched)
    rep = personas["rep"]["headers"]
    with clean_db.begin() as conn:
        conn.execute(sa.text("""
            create function public.refuse_doomed() returns trigger language plpgsql as $$
            begin
              if new.filename = 'doomed.txt' then
                raise exception 'refused at commit';
              end if;
              return null;
            end $$;
            create constraint trigger refuse_doomed after insert on app.attachments
              deferrable initially deferred for each row execute function public.refuse_doomed();
        """))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            url = f"/api/v1/contacts/{_contact(client, rep, 'Commit')}/attachments"
            doomed = client.post(url, params={"filename": "doomed.txt"}, content=b"x" * 5000,
                                 headers={**rep, "Content-Type": "text/plain"})
            assert doomed.status_code == 500, doomed.text
            assert not root.exists() or not [p for p in root.rglob("*") if p.is_file()]
            kept = client.post(url, params={"filename": "kept.txt"}, content=b"y" * 5000,
                               headers={**rep, "Content-Type": "text/plain"})
            assert kept.status_code == 201, kept.text
    finally:
        with clean_db.begin() as conn:
            conn.execute(sa.text("drop trigger refuse_doomed on app.attachments; "
                                 "drop function public.refuse_doomed()"))
    assert [p.read_bytes() for p in root.rglob("*") if p.is_file()] == [b"y" * 5000]
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select filename from app.attachments")).scalars().all() \
            == ["kept.txt"]
    assert on_loop and not any(on_loop)


def test_files_removed_after_commit_only(clean_db, tmp_path):
    """What a GDPR erase relies on: files go when the transaction commits, not when it
    rolls back (the rows, and so the files, are still there); a missing one is fine."""
    from sqlalchemy.orm import Session

    from salesops.domain.attachments import remove_files_after_commit, stored_path

    kept, gone = stored_path(tmp_path, "aa11"), stored_path(tmp_path, "bb22")
    for path in (kept, gone):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    with Session(clean_db) as session:
        with session.begin():
            remove_files_after_commit(session, tmp_path, ["aa11"])
            session.rollback()
        assert kept.is_file()
        with session.begin():
            remove_files_after_commit(session, tmp_path, ["bb22", "cc33"])
            assert gone.is_file()  # not before the commit
        assert not gone.exists() and kept.is_file()
