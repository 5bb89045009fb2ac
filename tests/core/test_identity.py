"""Identity resolution beyond the e-mail: phones in E.164, names at one company, and the
ambiguous cases that must stay apart."""

from __future__ import annotations

import numpy as np
import phonenumbers
import sqlalchemy as sa

from salesops.identity import Evidence, Link, e164, link_orphans
from salesops.loading import load_batch
from salesops.merge import merge_entity


def test_e164_reads_the_usual_spellings_once_per_string():
    got = e164(["(415) 555-0100", "+1 415-555-0100", "415.555.0100 ext. 12", "n/a", "12",
                "+44 20 7946 0958"], "US")
    assert got == {"(415) 555-0100": "+14155550100", "+1 415-555-0100": "+14155550100",
                   "415.555.0100 ext. 12": "+14155550100", "+44 20 7946 0958": "+442079460958"}


def test_e164_input_skips_the_parse_with_the_same_result():
    """The fast path for `+1` numbers gives what `phonenumbers` gives, and leaves alone what
    it must parse (a `+1` area code starting 0 or 1, an extension, spaces, other lengths)."""
    rng = np.random.default_rng(7)
    phones = [f"+1{d}" for d in rng.integers(2_000_000_000, 10_000_000_000, 2_000)]
    phones += ["+12000000000", "+19999999999", "+10123456789", "+11234567890", "+1415555010",
               "+141555501001", "+14155550100 x12", "+1 4155550100", "+14155550100\n"]
    slow = {}
    for text in phones:
        try:
            number = phonenumbers.parse(text, "DE")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            slow[text] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert e164(phones, "DE") == slow


def test_an_orphan_joins_only_an_unambiguous_contact():
    links = link_orphans([
        Evidence(1, 10, 100, "phone"),                               # one contact: joins it
        Evidence(2, 20, 200, "phone"), Evidence(2, 21, 201, "phone"),  # two: joins none
        Evidence(3, 4, None, "name_company"), Evidence(4, 3, None, "name_company"),
        Evidence(4, 30, 300, "phone"),                       # 3 follows 4 into contact 300
        Evidence(5, 6, None, "phone"), Evidence(6, 5, None, "phone"),  # a new person of two
    ])
    assert sorted(links, key=lambda link: link.record) == [
        Link(1, 100, 1, "phone"), Link(2, None, 2, "source_key"),
        Link(3, 300, 3, "name_company"),
        Link(4, 300, 3, "phone"), Link(5, None, 5, "phone"), Link(6, None, 5, "phone")]
    assert link_orphans([]) == []


def _contact(key: str, email: str = "", phone: str = "", first: str = "", last: str = "",
             company: str = "") -> dict:
    return {"id": key, "source_key": key, "createdAt": "2025-01-02T03:04:05Z",
            "properties": {"email": email, "phone": phone, "firstname": first,
                           "lastname": last, "company": company}}


PEOPLE = [
    _contact("1", "maria@acme.test", "+1 415 555 0100", "Maria", "Lopez", "Acme Inc"),
    _contact("2", phone="(415) 555-0100"),                           # same phone: Maria
    _contact("3", first="maria", last="lopes", company="ACME, Inc."),  # misspelt, same company
    _contact("4", "ann@globex.test", "+1 212 555 0000", "Ann", "Lee", "Globex"),
    _contact("5", "bob@globex.test", "+1 212 555 0000", "Bob", "Ray", "Globex"),
    _contact("6", phone="212-555-0000"),                    # the switchboard of two people
    _contact("7", "tom@initech.test", "", "Tom", "Baker", "Initech"),
    _contact("8", "tom.b@initech.test", "", "Tom", "Baker", "Initech"),
    _contact("9", first="Tom", last="Bakers", company="Initech"),  # which Tom? alone
    _contact("10", phone="+1 212 555 0000", first="Bob", last="Ray", company="Globex"),
]


#: A placeholder number on many records that have nothing else: never one person.
PLACEHOLDERS = [_contact(f"p{i}", phone="000-000-0000", first="N", last="A") for i in range(12)]


def _groups(engine: sa.Engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        return {k: (c, r) for k, c, r in conn.execute(sa.text(
            "select source_key, contact_id, match_rule from app.contact_sources"))}


def test_phone_and_name_match_orphans_and_ambiguity_keeps_them_apart(clean_db):
    load_batch(clean_db, "hubspot", "contacts", "test", [*PEOPLE, *PLACEHOLDERS])
    counts = merge_entity(clean_db, "contacts")
    g = _groups(clean_db)
    assert g["2"] == (g["1"][0], "phone") and g["3"] == (g["1"][0], "name_company")
    assert g["9"][1] == "source_key" and g["9"][0] not in (g["7"][0], g["8"][0])
    # 6 and 10 point at Ann and Bob by phone (10 at Bob by name too): ambiguous, so they
    # join neither; they share the number, so they are one new contact
    assert g["6"] == (g["10"][0], "phone") and g["6"][0] not in (g["4"][0], g["5"][0])
    assert len({g[f"p{i}"] for i in range(12)}) == 12
    assert counts.created == len({c for c, _ in g.values()}) == 7 + 12
    again = merge_entity(clean_db, "contacts")
    assert (again.created, again.updated) == (0, 0) and _groups(clean_db) == g
