"""Lead assignment: who takes an unowned lead, by the rules in `app.assignment_rules`.

A rule has a territory (`countries`: the country or region names or codes it covers,
compared case-insensitively with the lead's country; null covers every lead), a pool (the
active sales reps of `team_id`, plus `user_ids`; one user makes a territory -> rep rule), a
strategy and an optional cap (`max_open_leads` per rep, counting the rep's open leads:
new, working, nurturing, qualified).

- `round_robin` takes the pool in turn (by user id), starting after the rule's
  `last_user_id`, skipping reps at the cap;
- `load_balanced` gives each lead to the rep with the fewest open leads (ties: lowest id).

Rules are tried by `position`; a lead the first matching rule cannot place (every rep at
the cap, no active rep) falls through to the next. A lead nobody can take stays unowned,
and `app.lead_assignments` keeps why; that table holds the latest decision per lead.

The lead's country: `custom_fields.country` (forms, imports), else its account's, else its
contact's account's.

One code path serves one lead (`capture_lead`, the API) and a whole batch (the merge): a
statement per active rule, whatever the number of leads, each numbering the leads and
the reps' free slots and pairing them. A transaction-level advisory lock serialises
assignments, so two workers never both see a rep under the cap and both give them a lead
(each statement reads the open-lead counts after the lock is held; READ COMMITTED, the
default, is required). With no active rule nobody is given a lead, so no lock is taken:
captures then never wait for each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from salesops.db import DriverStatement
from salesops.domain.errors import InvalidInput
from salesops.models import AssignmentRule
from salesops.models.assignment import ASSIGNMENT_STRATEGIES

OPEN_STATUSES = ("new", "working", "nurturing", "qualified")
_OPEN = "('new', 'working', 'nurturing', 'qualified')"
#: The active rules as a JSON array of [id, strategy], in the order they are tried: a
#: column another statement can carry (a capture reads them with its lead insert).
ACTIVE_RULES = """(select coalesce(json_agg(json_build_array(r.id, r.strategy)
                                         order by r.position, r.id), '[]')
                  from app.assignment_rules r where r.is_active) as rules"""
_READ_RULES = DriverStatement(sa.text(f"select {ACTIVE_RULES}"))
_LOCK = DriverStatement(sa.text(
    "select pg_advisory_xact_lock(hashtext('salesops.lead_assignment'))"))


def _candidates(by_id: bool) -> str:
    """The leads to place: unowned, open, live; the ones named, or all of them.

    A named lead is read by its primary key (one lookup per id, its state checked after:
    the `offset 0` fence keeps the checks out of the lookup). Otherwise a statement
    prepared with a generic plan while the table's statistics still counted few unowned
    leads scans every unowned lead by the owner index, for each capture, so captures
    slow down as unowned leads pile up."""
    lead = """
        select l.id, l.owner_id, l.deleted_at, l.status,
               lower(btrim(coalesce(l.custom_fields->>'country', la.country, ca.country)))
                 as country
        from app.leads l
        left join app.accounts la on la.id = l.account_id
        left join app.contacts c on c.id = l.contact_id
        left join app.accounts ca on ca.id = c.account_id"""
    source = (f"unnest(cast(:lead_ids as bigint[])) named(id) cross join lateral ("
              f"{lead} where l.id = named.id offset 0) l" if by_id else f"({lead}) l")
    return f"""
    select l.id, l.country from {source}
    where l.owner_id is null and l.deleted_at is null and l.status in {_OPEN}"""


_COVERS = ("(r.countries is null or exists (select 1 from unnest(r.countries) t "
           "where lower(btrim(t)) = cand.country))")

#: Slot order per strategy: the k-th lead a rep would take, in the order leads are dealt.
_SLOT_ORDER = {
    "round_robin": "s.k, (p.pos - st.after - 1 + p.size) % p.size",
    "load_balanced": "p.open + s.k, p.pos",
}


@cache
def _apply_rule(strategy: str, by_id: bool) -> DriverStatement:
    return DriverStatement(sa.text(f"""
    with r as (select * from app.assignment_rules where id = :rule_id),
    cand as (
        select cand.id, row_number() over (order by cand.id) as n
        from ({_candidates(by_id)}) cand, r where {_COVERS}),
    reps as (
        select u.id, (select count(*) from app.leads o where o.owner_id = u.id
                      and o.deleted_at is null and o.status in {_OPEN}) as open
        from app.users u join app.roles ro on ro.id = u.role_id, r
        where u.is_active and u.deleted_at is null
          and (u.id = any(r.user_ids) or (u.team_id = r.team_id and ro.name = 'sales_rep'))
          and exists (select 1 from cand)),  -- no lead for this rule: count no loads
    pool as (
        select reps.*, row_number() over (order by id) as pos, count(*) over () as size,
               max(open) over () as max_open, (select count(*) from cand) as leads
        from reps),
    st as (select coalesce((select p.pos from pool p, r where p.id = r.last_user_id), 0)
                  as after),
    -- a rep's free slots: up to the cap; without one, no more than dealing the leads
    -- evenly on top of the busiest rep's load could ever give them
    slots as (
        select p.id as user_id, row_number() over (order by {_SLOT_ORDER[strategy]}) as n
        from pool p, st, r, generate_series(1, greatest(0, least(
            coalesce(r.max_open_leads - p.open,
                     p.max_open - p.open + (p.leads + p.size - 1) / p.size),
            p.leads))) s(k)),
    pairs as (select c.id as lead_id, s.user_id, s.n from cand c join slots s on s.n = c.n),
    upd as (
        update app.leads l set owner_id = p.user_id, version = l.version + 1,
               updated_at = now()
        from pairs p where l.id = p.lead_id and l.owner_id is null
        returning l.id, l.owner_id),
    logged as (
        insert into app.lead_assignments (lead_id, rule_id, owner_id, reason)
        select u.id, :rule_id, u.owner_id, 'assigned by rule ' || (select name from r)
        from upd u
        on conflict (lead_id) do update set rule_id = excluded.rule_id,
            owner_id = excluded.owner_id, reason = excluded.reason,
            attempts = app.lead_assignments.attempts + 1, decided_at = now()
        returning 1),
    pointer as (
        update app.assignment_rules set last_user_id = (
            select user_id from pairs order by n desc limit 1), updated_at = now()
        where id = :rule_id and exists (select 1 from pairs)
        returning 1)
    select (select count(*) from upd), (select count(*) from logged),
           (select count(*) from pointer)"""))


@cache
def _record_unassigned(by_id: bool) -> DriverStatement:
    """Why each lead still unowned after every rule was tried is unowned (a row changes
    only when the reason does, so a re-run with nothing new changes nothing), and how
    many they are, in one statement."""
    return DriverStatement(sa.text(f"""
    with recorded as (
    insert into app.lead_assignments (lead_id, rule_id, owner_id, reason)
    select cand.id, m.id, null, case
        when m.id is null then 'no active assignment rule covers country '
                               || coalesce(quote_literal(cand.country), '(unknown)')
        else 'every rep of rule ' || m.name || ' is at its cap or inactive' end
    from ({_candidates(by_id)}) cand
    left join lateral (select r.id, r.name from app.assignment_rules r
                       where r.is_active and {_COVERS}
                       order by r.position, r.id limit 1) m on true
    on conflict (lead_id) do update set rule_id = excluded.rule_id, owner_id = null,
        reason = excluded.reason, attempts = app.lead_assignments.attempts + 1,
        decided_at = now()
      where (app.lead_assignments.rule_id, app.lead_assignments.reason)
            is distinct from (excluded.rule_id, excluded.reason)
    returning 1)
    select count(*) from ({_candidates(by_id)}) cand"""))


@dataclass(frozen=True)
class AssignmentReport:
    assigned: int
    unassigned: int


def assign(conn: Session | sa.Connection, lead_ids: Sequence[int] | None = None, *,
           rules: Sequence[Sequence[Any]] | None = None) -> AssignmentReport:
    """Place unowned open leads (`lead_ids`, or every one when None) in the caller's
    transaction; returns how many got an owner and how many stay unowned (with a reason
    in `app.lead_assignments`). Leads that already have an owner are left alone.
    `rules`: the (id, strategy) of the active rules, when the caller read them already
    (`ACTIVE_RULES`, in this transaction)."""
    if lead_ids is not None and not lead_ids:
        return AssignmentReport(0, 0)
    by_id = lead_ids is not None
    params: dict[str, Any] = {"lead_ids": list(lead_ids)} if by_id else {}
    if rules is None:
        rules = _READ_RULES.execute(conn)[0]
    if rules:  # without a rule nobody is given a lead: nothing to serialise
        _LOCK.execute(conn)
    assigned = 0
    for rule_id, strategy in rules:
        assigned += _apply_rule(strategy, by_id).execute(
            conn, {**params, "rule_id": rule_id})[0]
        if by_id and assigned == len(params["lead_ids"]):
            return AssignmentReport(assigned, 0)  # all placed: no more statements
    return AssignmentReport(assigned,
                            _record_unassigned(by_id).execute(conn, params)[0])


def pending(engine: sa.Engine) -> int:
    """Unowned open leads no assignment has looked at yet (cheap, for a sensor)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            f"select count(*) from app.leads l where l.owner_id is null and l.deleted_at is "
            f"null and l.status in {_OPEN} and not exists (select 1 from app.lead_assignments "
            f"a where a.lead_id = l.id)")).scalar_one()


def assign_all(engine: sa.Engine) -> AssignmentReport:
    """Place every unowned open lead, in a transaction of its own (the merge, Dagster)."""
    with engine.begin() as conn:
        return assign(conn)


def save_rule(session: Session, name: str, *, strategy: str = "round_robin",
              countries: Sequence[str] | None = None, team_id: int | None = None,
              user_ids: Sequence[int] = (), max_open_leads: int | None = None,
              position: int = 100, is_active: bool = True) -> AssignmentRule:
    """Create or replace the rule called `name` (the configuration's one writer)."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("A rule needs a name.", field="name")
    if strategy not in ASSIGNMENT_STRATEGIES:
        raise InvalidInput(f"strategy must be one of {', '.join(ASSIGNMENT_STRATEGIES)}.",
                           field="strategy")
    if team_id is None and not user_ids:
        raise InvalidInput("A rule needs a pool: a team_id, user_ids, or both.",
                           field="team_id")
    if max_open_leads is not None and max_open_leads < 0:
        raise InvalidInput("max_open_leads must be 0 or more (or unset for no cap).",
                           field="max_open_leads")
    cleaned = [c.strip() for c in countries or () if c and c.strip()]
    values = {"strategy": strategy, "countries": cleaned or None, "team_id": team_id,
              "user_ids": list(user_ids), "max_open_leads": max_open_leads,
              "position": position, "is_active": is_active}
    rule_id = session.execute(
        pg_insert(AssignmentRule).values(name=name, **values)
        .on_conflict_do_update(index_elements=[AssignmentRule.name],
                               set_={**values, "updated_at": sa.func.now()})
        .returning(AssignmentRule.id)).scalar_one()
    return session.get(AssignmentRule, rule_id, populate_existing=True)
