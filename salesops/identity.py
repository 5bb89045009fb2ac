"""Identity resolution of the contact merge beyond the e-mail: phones and names.

The merge (`salesops.merge`) first makes one person per normalised e-mail (and keeps every
record with the contact it was linked to before). What is left are *orphans*: records with
no usable e-mail. For those, SQL finds the evidence (the same phone in E.164, or a similar
name at the same company) as pairs (orphan, other record); this module reads the phones
with `phonenumbers` (once per distinct string, in bulk) and decides, from the pairs, which
contact each orphan belongs to:

- an orphan whose evidence points at exactly one contact joins it; one that points at two
  or more (a shared switchboard number, two Anna Smiths at one company) joins none, since a
  wrong merge is worse than a duplicate;
- orphans with evidence between them are one person (SciPy's connected components), who
  joins the one contact their group points at, or becomes a new contact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import phonenumbers
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: A North American number already in E.164 (`+1`, then ten digits, the area code not
#: starting with 0 or 1): `phonenumbers` reads it back unchanged and possible, so it is
#: its own E.164 without the ~55 µs of a parse (tests/core/test_identity.py compares).
_NANP_E164 = re.compile(r"\+1[2-9]\d{9}")


def e164(phones: Iterable[str], region: str) -> dict[str, str]:
    """The E.164 form of each phone string that is a possible number; `region` (ISO 3166
    alpha-2) reads numbers written without a country code."""
    found: dict[str, str] = {}
    for text in phones:
        if _NANP_E164.fullmatch(text):
            found[text] = text
            continue
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            found[text] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return found


@dataclass(frozen=True)
class Evidence:
    """Orphan record `record` resembles record `other` (by `rule`); `contact` is the
    contact `other` already belongs to, None when `other` is an orphan too."""

    record: int
    other: int
    contact: int | None
    rule: str


@dataclass(frozen=True)
class Link:
    """Where an orphan goes: an existing `contact`, or else the new contact shared by
    every orphan of `group` (the group's smallest record number)."""

    record: int
    contact: int | None
    group: int
    rule: str


def link_orphans(evidence: Iterable[Evidence]) -> list[Link]:
    """The links of every orphan that has evidence (see the module's docstring)."""
    evidence = list(evidence)
    rule: dict[tuple[int, int | None], str] = {}  # (orphan, contact or None) -> first rule
    contacts: dict[int, set[int]] = {}
    for e in evidence:
        rule.setdefault((e.record, e.contact), e.rule)
        if e.contact is not None:
            contacts.setdefault(e.record, set()).add(e.contact)
    orphans = sorted({e.record for e in evidence} | {e.other for e in evidence
                                                     if e.contact is None})
    index = {n: i for i, n in enumerate(orphans)}
    pairs = np.array([(index[e.record], index[e.other]) for e in evidence
                      if e.contact is None], dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(len(orphans), len(orphans)))
    _, component = connected_components(graph, directed=False)
    direct = {n: next(iter(c)) for n, c in contacts.items() if len(c) == 1}
    reached: dict[int, set[int]] = {}
    first: dict[int, int] = {}
    size = np.bincount(component) if len(orphans) else np.zeros(0, dtype=np.int64)
    for n in orphans:
        c = int(component[index[n]])
        first.setdefault(c, n)  # orphans are sorted: the group's smallest record
        if n in direct:
            reached.setdefault(c, set()).add(direct[n])
    links = []
    for n in orphans:
        c = int(component[index[n]])
        shared = reached.get(c, set())
        contact = next(iter(shared)) if len(shared) == 1 else direct.get(n)
        if contact is None and size[c] == 1:
            links.append(Link(n, None, n, "source_key"))  # ambiguous: joined nothing
        else:
            how = rule.get((n, contact)) or rule.get((n, None), "phone")
            links.append(Link(n, contact, first[c], how))
    return links
