"""Lead assignment rules on a real PostgreSQL: round robin, territory, load balancing with
caps, fall-through, reasons for leads nobody can take, and two workers racing for a cap."""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.domain import assignment
from salesops.domain.errors import InvalidInput
from salesops.domain.leads import capture_lead
from salesops.domain.users import create_user
from salesops.models import Lead, Team


@pytest.fixture
def org(clean_db):
    """Team Europe (reps a, b, c, a manager), team Americas (rep d), a rep with no team."""
    with Session(clean_db) as session, session.begin():
        europe, americas = Team(name="Europe"), Team(name="Americas")
        session.add_all([europe, americas])
        session.flush()
        ids = {name: create_user(session, f"{name}@example.com", name, None, role, team).id
               for name, role, team in (("a", "sales_rep", europe.id),
                                        ("b", "sales_rep", europe.id),
                                        ("c", "sales_rep", europe.id),
                                        ("boss", "sales_manager", europe.id),
                                        ("d", "sales_rep", americas.id),
                                        ("solo", "sales_rep", None))}
        ids["europe"], ids["americas"] = europe.id, americas.id
    return ids


def rule(engine, name, **values):
    with Session(engine) as session, session.begin():
        return assignment.save_rule(session, name, **values).id


_keys = itertools.count()


def add_leads(engine, countries, owner_id=None, status="new"):
    with Session(engine) as session, session.begin():
        leads = [Lead(source="test", source_key=f"k{next(_keys)}",
                      status=status, owner_id=owner_id,
                      custom_fields={"country": country} if country else {})
                 for country in countries]
        session.add_all(leads)
        session.flush()
        return [lead.id for lead in leads]


def owners(engine, lead_ids):
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select id, owner_id from app.leads where id = any(:ids)"),
                            {"ids": lead_ids}).all()
    found = dict(rows)
    return [found[i] for i in lead_ids]


def reasons(engine):
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("select lead_id, reason from app.lead_assignments "
                                         "where owner_id is null")).all())


def test_round_robin_deals_the_team_in_turn_and_continues_where_it_stopped(org, clean_db):
    rule(clean_db, "europe", team_id=org["europe"])
    first = add_leads(clean_db, ["DE"] * 4)
    assert assignment.assign_all(clean_db) == assignment.AssignmentReport(4, 0)
    # reps only (the manager is not in a team pool), in id order, then around again
    assert owners(clean_db, first) == [org["a"], org["b"], org["c"], org["a"]]
    second = add_leads(clean_db, ["FR"] * 2)
    assignment.assign_all(clean_db)
    assert owners(clean_db, second) == [org["b"], org["c"]]


def test_territory_rules_first_then_the_catch_all(org, clean_db):
    rule(clean_db, "dach", countries=["Germany", "de", "AT"], user_ids=[org["solo"]],
         position=1)
    rule(clean_db, "americas", countries=["US", "united states"], team_id=org["americas"],
         position=2)
    rule(clean_db, "rest", team_id=org["europe"], position=3)
    leads = add_leads(clean_db, ["DE", " germany ", "United States", "GB", None])
    assignment.assign_all(clean_db)
    assert owners(clean_db, leads) == [org["solo"], org["solo"], org["d"], org["a"], org["b"]]


def test_load_balanced_fills_the_least_loaded_and_respects_the_cap(org, clean_db):
    add_leads(clean_db, ["x"] * 3, owner_id=org["a"])  # a already has 3 open leads
    add_leads(clean_db, ["x"] * 1, owner_id=org["b"])
    add_leads(clean_db, ["x"] * 5, owner_id=org["c"], status="converted")  # not open
    rule(clean_db, "balanced", strategy="load_balanced", team_id=org["europe"],
         max_open_leads=3)
    new = add_leads(clean_db, ["DE"] * 7)
    report = assignment.assign_all(clean_db)
    assert report == assignment.AssignmentReport(5, 2)
    got = Counter(owners(clean_db, new))
    assert got == {org["c"]: 3, org["b"]: 2, None: 2}
    why = reasons(clean_db)
    assert set(why) == set(new[5:])  # the last two in id order wait
    assert all(r == "every rep of rule balanced is at its cap or inactive" for r in why.values())
    # a freed slot is used by the next run
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.leads set status = 'disqualified', disqualified_reason"
                             " = 'spam' where owner_id = :a and id <> all(:new)"),
                     {"a": org["a"], "new": new})
    assert assignment.assign_all(clean_db) == assignment.AssignmentReport(2, 0)
    assert Counter(owners(clean_db, new))[org["a"]] == 2


def test_a_full_rule_falls_through_and_nobody_leaves_a_reason(org, clean_db):
    rule(clean_db, "solo", user_ids=[org["solo"]], max_open_leads=1, position=1,
         countries=["DE"])
    rule(clean_db, "americas", countries=["US"], team_id=org["americas"], position=2,
         max_open_leads=0)
    leads = add_leads(clean_db, ["DE", "DE", "US", "JP", None])
    assert assignment.assign_all(clean_db) == assignment.AssignmentReport(1, 4)
    assert owners(clean_db, leads) == [org["solo"], None, None, None, None]
    why = reasons(clean_db)
    assert why[leads[1]] == "every rep of rule solo is at its cap or inactive"
    assert why[leads[2]] == "every rep of rule americas is at its cap or inactive"
    assert why[leads[3]] == "no active assignment rule covers country 'jp'"
    assert why[leads[4]] == "no active assignment rule covers country (unknown)"
    # an inactive rep is never given a lead
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.users set is_active = false where id = :id"),
                     {"id": org["solo"]})
        conn.execute(sa.text("update app.leads set owner_id = null"))
    assert assignment.assign_all(clean_db).assigned == 0


def test_owned_and_closed_leads_are_left_alone_and_a_rerun_changes_nothing(org, clean_db):
    rule(clean_db, "europe", team_id=org["europe"])
    owned = add_leads(clean_db, ["DE"], owner_id=org["d"])
    closed = add_leads(clean_db, ["DE"], status="converted")
    assert assignment.assign_all(clean_db) == assignment.AssignmentReport(0, 0)
    assert owners(clean_db, owned + closed) == [org["d"], None]
    rule(clean_db, "europe", team_id=org["europe"], is_active=False)
    add_leads(clean_db, ["DE"])
    assignment.assign_all(clean_db)
    with clean_db.connect() as conn:
        before = conn.execute(sa.text("select * from app.lead_assignments")).all()
    assignment.assign_all(clean_db)
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select * from app.lead_assignments")).all() == before


def test_capture_lead_assigns_at_once(org, clean_db):
    rule(clean_db, "dach", countries=["DE"], user_ids=[org["solo"]])
    with Session(clean_db) as session, session.begin():
        lead = capture_lead(session, email="x@example.org", country="DE", form_key="f",
                            submission_id="s1")
        assert lead.owner_id == org["solo"]
    with clean_db.connect() as conn:
        payload = conn.execute(sa.text("select payload from app.events")).scalar_one()
    assert payload["owner_id"] == org["solo"]


def test_two_workers_never_exceed_a_cap(org, clean_db):
    """Worker one assigns and holds its transaction open; worker two, meanwhile, must not
    give the same rep (cap 1) a second lead."""
    rule(clean_db, "solo", user_ids=[org["solo"]], max_open_leads=1)
    assigned_one = threading.Event()
    results: dict[str, int | None] = {}

    def worker(name: str, hold: bool) -> None:
        with Session(clean_db) as session, session.begin():
            lead = capture_lead(session, email=f"{name}@example.org", form_key="f",
                                submission_id=name)
            results[name] = lead.owner_id
            if hold:
                assigned_one.set()
                threading.Event().wait(0.5)  # commit late

    one = threading.Thread(target=worker, args=("one", True))
    one.start()
    assert assigned_one.wait(10)
    two = threading.Thread(target=worker, args=("two", False))
    two.start()
    one.join(10)
    two.join(10)
    assert results == {"one": org["solo"], "two": None}


def test_rules_are_validated(org, clean_db):
    with Session(clean_db) as session:
        with pytest.raises(InvalidInput, match="strategy must be one of"):
            assignment.save_rule(session, "x", strategy="random", team_id=org["europe"])
        with pytest.raises(InvalidInput, match="needs a pool"):
            assignment.save_rule(session, "x")
        with pytest.raises(InvalidInput, match="max_open_leads"):
            assignment.save_rule(session, "x", team_id=org["europe"], max_open_leads=-1)


def test_cli_saves_rules_and_assigns(org, clean_db, database_url, tmp_path):
    from tests.cli.test_cli_errors import one_line_error, salesops

    env = {"DATABASE_URL": database_url}
    data = tmp_path / "data"
    saved = salesops("leads", "rule", "dach", "--country", "DE", "--country", "AT",
                     "--user", "solo@example.com", "--cap", "5", data_dir=data, env=env)
    assert saved.returncode == 0 and "saved rule" in saved.stdout, saved.stderr
    error = one_line_error(salesops("leads", "rule", "x", "--team", "Nowhere",
                                    data_dir=data, env=env))
    assert "No team 'Nowhere'" in error
    lead = add_leads(clean_db, ["AT"])
    ran = salesops("leads", "assign", data_dir=data, env=env)
    assert ran.returncode == 0 and "1 leads assigned; 0 stay unowned" in ran.stdout, ran.stderr
    assert owners(clean_db, lead) == [org["solo"]]


def test_a_named_lead_is_read_by_primary_key_whatever_the_statistics(org, clean_db):
    """A capture's statements keep their generic plan for the connection's life: the
    candidate must be read by its key even when the statistics were taken while no lead
    was unowned (else each capture scans every unowned lead)."""
    with clean_db.begin() as conn:
        conn.execute(sa.text("insert into app.leads (source, source_key, owner_id) "
                             "select 'test', 'owned' || i, :owner from generate_series(1, 500) i"),
                     {"owner": org["a"]})
        conn.exec_driver_sql("analyze app.leads")
        sql = str(assignment._record_unassigned(True).clause.compile(dialect=clean_db.dialect))
        plan = conn.exec_driver_sql(
            "explain (generic_plan) " + sql.replace("%(lead_ids)s", "$1")).scalars().all()
    conditions = [line.strip() for line in plan if "Index Cond" in line]
    assert "Index Cond: (id = named.id)" in conditions, plan
    assert not [c for c in conditions if "owner_id IS NULL" in c], plan
