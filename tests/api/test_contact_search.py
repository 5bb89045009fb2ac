"""Contact search over the dictionary of names (`app.contact_names`): every writer adds the
names it writes, a GDPR erase takes a name no one else has out of it, and a search filtered
by scope or filters after the names lookup returns what the whole query would, page by
page, whether the nearest candidates fill the page or the fallback runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import records
from salesops.models import Contact


def _names(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text("select name from app.contact_names")).scalars())


def _found(client, headers, q: str, **params) -> list[dict]:
    r = client.get("/api/v1/contacts", params={"q": q, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _all_pages(client, headers, q: str, limit: int, **params) -> list[int]:
    ids, cursor = [], None
    while True:
        r = client.get("/api/v1/contacts", headers=headers, params={
            "q": q, "limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        ids += [i["id"] for i in r.json()["items"]]
        if (cursor := r.json()["next_cursor"]) is None:
            return ids


def test_names_follow_creates_renames_and_merges(client, personas, clean_db):
    rep = personas["rep"]["headers"]
    maria = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Zelda", "last_name": "Quartz"}).json()
    renamed = client.patch(f"/api/v1/contacts/{maria['id']}", headers=rep, json={
        "first_name": "Maria", "last_name": "Lopez", "version": maria["version"]})
    assert renamed.status_code == 200, renamed.text
    assert [i["id"] for i in _found(client, rep, "Maria Lpoez")] == [maria["id"]]
    # the old name stays in the dictionary, and finds nobody: search joins back to people
    assert {"Zelda Quartz", "Maria Lopez"} <= _names(clean_db)
    assert _found(client, rep, "Zelda Quartz") == []

    survivor = client.post("/api/v1/contacts", headers=rep, json={"last_name": "Okafor"}).json()
    duplicate = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Chidi", "last_name": "Okafr"}).json()
    merged = client.post(f"/api/v1/contacts/{survivor['id']}/merge", headers=rep,
                         json={"duplicate_ids": [duplicate["id"]]})
    assert merged.status_code == 200, merged.text
    # the survivor took the duplicate's first name: found by the name it has now
    assert [i["id"] for i in _found(client, rep, "Chidi Okafor")] == [survivor["id"]]


def test_gdpr_erase_removes_a_name_no_other_contact_has(client, personas, clean_db):
    rep, admin = personas["rep"]["headers"], personas["admin"]["headers"]
    greta = client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Greta", "last_name": "Garbo"}).json()
    smiths = [client.post("/api/v1/contacts", headers=rep, json={
        "first_name": "Joan", "last_name": "Smith"}).json() for _ in range(2)]
    assert {"Greta Garbo", "Joan Smith"} <= _names(clean_db)
    for contact in (greta, smiths[0]):
        erased = client.post(f"/api/v1/contacts/{contact['id']}/erase", headers=admin,
                             json={"reason": "Art. 17 request"})
        assert erased.status_code == 200, erased.text
    names = _names(clean_db)
    assert "Greta Garbo" not in names  # nobody else has it: gone with the person
    assert "Joan Smith" in names  # the other Joan Smith keeps it, and is found by it
    assert [i["id"] for i in _found(client, admin, "Joan Smith")] == [smiths[1]["id"]]


@pytest.fixture
def crowd(clean_db, personas) -> None:
    """Thirty people named like "John Smith": most the West rep's (out of the East reps'
    sight) and nearest the query, a few the East rep's."""
    owners = [personas["rep_west"]["id"]] * 24 + [personas["rep"]["id"]] * 6
    firsts = ["John", "Jon", "Johnny", "Johnn", "Johan", "Jonh"]
    with Session(clean_db) as session, session.begin():
        session.add_all(Contact(first_name=firsts[i % 6] if i < 24 else firsts[5 - i % 6],
                                last_name="Smith" if i % 2 else "Smyth", owner_id=owner)
                        for i, owner in enumerate(owners))


def test_scope_and_filters_after_the_lookup_return_what_the_whole_query_would(
        client, personas, crowd, monkeypatch):
    monkeypatch.setattr(records, "NEAREST_CANDIDATES", 8)
    outcomes = []
    bounded = records._nearest_visible

    def spy(*args, **kwargs):
        rows = bounded(*args, **kwargs)
        outcomes.append("bounded" if rows is not None else "fallback")
        return rows

    monkeypatch.setattr(records, "_nearest_visible", spy)
    admin, rep = personas["admin"]["headers"], personas["rep"]["headers"]
    everyone = [(i["id"], i["owner_id"]) for i in _found(client, admin, "John Smith",
                                                          limit=200)]
    assert len(everyone) == 30 and outcomes == []  # the admin sees all: no bound needed
    east = {personas["rep"]["id"], personas["rep2"]["id"]}
    theirs = [i for i, owner in everyone if owner in east]
    assert len(theirs) == 6
    for limit in (1, 2, 6):
        assert _all_pages(client, rep, "John Smith", limit) == theirs
    assert "fallback" in outcomes  # the 8 nearest are not the rep's
    west = personas["rep_west"]
    mine = [i for i, owner in everyone if owner == west["id"]]
    outcomes.clear()
    assert _all_pages(client, admin, "John Smith", 3, owner_id=str(west["id"])) == mine
    # the 8 nearest hold a page of the West rep's; the last page runs short: the fallback
    assert "bounded" in outcomes and outcomes[-1] == "fallback"


def test_captured_people_are_found_by_name(client, personas, clean_db):
    admin = personas["admin"]["headers"]
    url = "/api/v1/forms/demo-request/submissions"
    new = {"submission_id": "names-1", "fields": {"email": "ines.brandt@example.com",
                                                  "first_name": "Ines", "last_name": "Brandt"}}
    assert client.post(url, json=new).status_code in (200, 201, 202)
    # a known person with no last name yet: the form fills the blank, and the new name counts
    known = client.post("/api/v1/contacts", headers=admin, json={
        "first_name": "Tomas", "email": "tomas.vik@example.com"}).json()
    again = {"submission_id": "names-2", "fields": {"email": "tomas.vik@example.com",
                                                    "first_name": "Tomas", "last_name": "Vik"}}
    assert client.post(url, json=again).status_code in (200, 201, 202)
    assert {"Ines Brandt", "Tomas Vik"} <= _names(clean_db)
    assert [i["email"] for i in _found(client, admin, "Ines Brant")] == [
        "ines.brandt@example.com"]
    assert [i["id"] for i in _found(client, admin, "Tomas Vik")] == [known["id"]]
