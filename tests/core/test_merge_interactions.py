"""Emails become interactions linked by address; HubSpot's merged contacts stay one contact."""

from __future__ import annotations

import sqlalchemy as sa

from salesops.loading import load_batch
from salesops.merge import merge_all

OWNER = "@ourco.com"


def _load(engine: sa.Engine, source: str, entity: str, records: list[dict]) -> None:
    load_batch(engine, source, entity, "test", records)


def _mail(key: str, sender: str, to: list[str], cc: list[str] = (), **extra) -> dict:
    return {"source_key": key, "message_id": key, "from_address": sender, "to": list(to),
            "cc": list(cc), "subject": f"About {key}", "date": "2025-03-04T10:15:00+01:00",
            "body_text": "Hello\n\n> quoted", "reply_text": "Hello", "thread_id": key,
            "in_reply_to": None, **extra}


def _rows(engine: sa.Engine, sql: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).all()


def test_emails_link_to_contacts_and_deals_by_address_with_direction(clean_db):
    _load(clean_db, "salesforce", "user", [
        {"Id": "005R", "Email": "Rita@OurCo.com", "FirstName": "Rita", "LastName": "Rep",
         "source_key": "005R"}])
    _load(clean_db, "salesforce", "contact", [
        {"Id": "003A", "Email": "ann@client.com", "LastName": "Ann", "source_key": "003A"},
        {"Id": "003B", "Email": "bob@other.org", "LastName": "Bob", "source_key": "003B"}])
    _load(clean_db, "salesforce", "opportunity", [
        {"Id": "006A", "Name": "Ann renewal", "StageName": "Proposal", "Contact__c": "003A",
         "source_key": "006A"}])
    _load(clean_db, "email", "messages", [
        _mail("<in@x>", "ANN+sales@Client.com", ["rita@ourco.com"]),
        _mail("<out@x>", "rita@ourco.com", ["colleague@ourco.com"], ["Bob@Other.org"]),
        _mail("<int@x>", "ops@ourco.com", ["rita@ourco.com"]),
        _mail("<stranger@x>", "who@nowhere.net", ["rita@ourco.com"]),
        _mail("<empty@x>", None, []),
    ])
    counts = merge_all(clean_db, mailbox_owners=[OWNER])["interactions"]
    assert (counts.rows_in, counts.created, counts.rejected) == (5, 4, 1)
    rows = _rows(clean_db, """
        select i.source_key, i.kind, i.direction, c.last_name, d.name, u.full_name, i.body
        from app.interactions i left join app.contacts c on c.id = i.contact_id
        left join app.sales_pipeline d on d.id = i.deal_id
        left join app.users u on u.id = i.user_id order by i.source_key""")
    assert rows == [
        ("<in@x>", "email", "inbound", "Ann", "Ann renewal", "Rita Rep", "Hello"),
        ("<int@x>", "email", "internal", None, None, "Rita Rep", "Hello"),
        ("<out@x>", "email", "outbound", "Bob", None, "Rita Rep", "Hello"),
        ("<stranger@x>", "email", "inbound", None, None, "Rita Rep", "Hello")]
    assert _rows(clean_db, "select reason from ops.rejected_rows where stage = 'merge'") == [
        ("no usable From or To address",)]
    again = merge_all(clean_db, mailbox_owners=[OWNER])["interactions"]
    assert (again.created, again.updated) == (0, 0)


def _hubspot(key: str, email: str, modified: str, merged: str | None = None) -> dict:
    props = {"email": email, "firstname": key, "lastmodifieddate": modified}
    if merged:
        props["hs_merged_object_ids"] = merged
    return {"id": key, "properties": props, "source_key": key}


def test_hubspot_merged_contacts_never_stay_duplicates(clean_db):
    _load(clean_db, "hubspot", "contacts", [_hubspot("900", "old@client.com", "2025-01-01"),
                                            _hubspot("901", "new@client.com", "2025-01-01")])
    _load(clean_db, "email", "messages", [_mail("<m@x>", "old@client.com", ["rep@ourco.com"])])
    merge_all(clean_db, mailbox_owners=[OWNER])
    assert _rows(clean_db, "select count(*) from app.contacts where merged_into_id is null") == [
        (2,)]
    # HubSpot merges 900 into 901: 901 lists it, 900 is never read again
    _load(clean_db, "hubspot", "contacts", [_hubspot("901", "new@client.com", "2025-02-01",
                                                     merged="900")])
    merge_all(clean_db, mailbox_owners=[OWNER])
    live = _rows(clean_db, "select id, email from app.contacts where merged_into_id is null")
    assert [email for _, email in live] == ["new@client.com"]
    survivor = live[0][0]
    assert _rows(clean_db, "select source_key, contact_id, match_rule from app.contact_sources "
                           "order by 1") == [("900", survivor, "hubspot_merge"),
                                             ("901", survivor, "email")]
    assert _rows(clean_db, "select contact_id from app.interactions") == [(survivor,)]
    # a first load that already has the merge makes one contact only
    _load(clean_db, "hubspot", "contacts", [_hubspot("950", "x@client.com", "2025-01-01"),
                                            _hubspot("951", "y@client.com", "2025-01-02",
                                                     merged="950;949")])
    merge_all(clean_db, mailbox_owners=[OWNER])
    rows = _rows(clean_db, "select c.email from app.contact_sources s join app.contacts c "
                           "on c.id = s.contact_id where s.source_key like '95%' order by 1")
    assert rows == [("y@client.com",), ("y@client.com",)]
