"""Data lifecycle on the embedded PostgreSQL: archive with dependents and ids kept, expiry
of short-lived rows, trash purge with cascades (and rows still needed kept, with why),
GDPR erase reaching the archive, every step audited and in the compliance report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation import lifecycle
from salesops.automation.lifecycle import LifecycleError, Policy

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(clean_db):
    with clean_db.begin() as conn:  # the archive is not emptied by clean_db
        conn.execute(sa.text("drop schema if exists archive cascade; create schema archive"))
    return clean_db


def q(conn, sql: str, **params):
    return conn.execute(sa.text(sql), params).scalar()


def add_interaction(conn, contact: int, days_ago: int, score: float | None = None) -> int:
    interaction = q(conn, "insert into app.interactions (kind, direction, contact_id, "
                    "occurred_at, subject) values ('email', 'inbound', :c, :t, 'hi') "
                    "returning id", c=contact, t=NOW - timedelta(days=days_ago))
    if score is not None:
        q(conn, "insert into ml.sentiment_analysis (interaction_id, label, score, model_name,"
          " model_version, mlflow_run_id) values (:i, 'neutral', :s, 'm', '1', 'r') "
          "returning id", i=interaction, s=score)
    return interaction


def test_old_interactions_move_to_the_archive_with_their_scores(db):
    with db.begin() as conn:
        contact = q(conn, "insert into app.contacts (first_name) values ('Ann') returning id")
        old = [add_interaction(conn, contact, 1200, 0.5), add_interaction(conn, contact, 1500)]
        recent = add_interaction(conn, contact, 10, 0.1)
    [step] = lifecycle.run(db, {"interactions": Policy(archive_after_days=1095)}, now=NOW)
    assert (step.action, step.rows, step.dependents) == ("archive", 2,
                                                         {"ml.sentiment_analysis": 1})
    with db.connect() as conn:
        assert conn.execute(sa.text("select id from app.interactions")).scalars().all() == \
            [recent]
        archived = conn.execute(sa.text(
            "select id, contact_id, subject, lifecycle_action_id from "
            "archive.app__interactions order by id")).all()
        assert [(r.id, r.contact_id, r.subject) for r in archived] == \
            [(i, contact, "hi") for i in sorted(old)]  # ids and references kept
        assert q(conn, "select count(*) from archive.ml__sentiment_analysis") == 1
        assert q(conn, "select count(*) from ml.sentiment_analysis") == 1  # the recent one
        action = conn.execute(sa.text("select action, entity, policy, rows, ids "
                                      "from ops.lifecycle_actions")).one()
        assert tuple(action) == ("archive", "interactions", "archive_after_days=1095", 2,
                                 sorted(old))
        assert conn.execute(sa.text(
            "select action, entity, after->>'rows' from app.audit_logs")).one() == \
            ("lifecycle.archive", "interactions", "2")
    again = lifecycle.run(db, {"interactions": Policy(archive_after_days=1095)}, now=NOW)
    assert again[0].rows == 0


def test_short_lived_rows_expire(db):
    with db.begin() as conn:
        for days, processed in ((100, True), (100, False), (10, True)):
            q(conn, "insert into app.events (topic, aggregate_type, aggregate_id, created_at, "
              "processed_at) values ('x', 'y', '1', :t, :p) returning id",
              t=NOW - timedelta(days=days), p=NOW if processed else None)
    every_rule = {name: Policy(**({"purge_trash_after_days": 30}
                                  if entity.age_column == "deleted_at" else
                                  {"delete_after_days": 90} if name == "events" else
                                  {"archive_after_days": 90}))
                  for name, entity in lifecycle.ENTITIES.items()}
    steps = lifecycle.run(db, every_rule, now=NOW)  # every entity's SQL runs
    assert {(s.action, s.entity): s.rows for s in steps if s.rows} == {
        ("delete", "events"): 1}
    with db.connect() as conn:  # the unprocessed one waits for its consumer
        assert q(conn, "select count(*) from app.events") == 2


def test_the_trash_is_purged_with_cascades_and_needed_rows_stay(db):
    long_ago, lately = NOW - timedelta(days=40), NOW - timedelta(days=5)
    with db.begin() as conn:
        gone = q(conn, "insert into app.contacts (first_name, deleted_at) values ('Gone', :t) "
                 "returning id", t=long_ago)
        q(conn, "insert into app.notes (contact_id, body) values (:c, 'n') returning id",
          c=gone)
        fresh = q(conn, "insert into app.contacts (first_name, deleted_at) values ('Fresh', "
                  ":t) returning id", t=lately)
        pipeline = q(conn, "insert into app.pipelines (name) values ('S') returning id")
        stage = q(conn, "insert into app.pipeline_stages (pipeline_id, name, position, "
                  "probability, forecast_category) values (:p, 'A', 1, 10, 'pipeline') "
                  "returning id", p=pipeline)
        deals = [q(conn, "insert into app.sales_pipeline (name, pipeline_id, stage_id, "
                   "deleted_at) values (:n, :p, :s, :t) returning id", n=n, p=pipeline,
                   s=stage, t=long_ago) for n in ("with contract", "plain")]
        q(conn, "insert into app.contracts (deal_id) values (:d) returning id", d=deals[0])
    results = lifecycle.run(db, {"contacts": Policy(purge_trash_after_days=30),
                                 "deals": Policy(purge_trash_after_days=30)}, now=NOW)
    contacts, deal_step = results
    assert contacts.rows == 1 and not contacts.blocked
    assert deal_step.rows == 1
    assert [b["id"] for b in deal_step.blocked] == [deals[0]]
    assert "contracts" in deal_step.blocked[0]["reason"]
    with db.connect() as conn:
        assert conn.execute(sa.text("select id from app.contacts")).scalars().all() == [fresh]
        assert q(conn, "select count(*) from app.notes") == 0  # cascaded
        assert conn.execute(sa.text("select id from app.sales_pipeline")).scalars().all() \
            == [deals[0]]
        report = lifecycle.report(conn, NOW - timedelta(days=365))
    assert {(r["action"], r["entity"], r["rows"], r["blocked"]) for r in report} == {
        ("purge", "contacts", 1, 0), ("purge", "deals", 1, 1)}


def test_gdpr_erase_reaches_the_archive(db):
    from salesops.domain import gdpr
    from salesops.domain.audit import Actor
    from salesops.domain.users import create_user, get_principal

    with db.begin() as conn:
        ann = q(conn, "insert into app.contacts (first_name, email, email_normalized) values "
                "('Ann', 'ann@example.com', 'ann@example.com') returning id")
        bob = q(conn, "insert into app.contacts (first_name) values ('Bob') returning id")
        for contact in (ann, bob):
            add_interaction(conn, contact, 2000, 0.3)
    lifecycle.run(db, {"interactions": Policy(archive_after_days=1095)}, now=NOW)
    with Session(db) as session, session.begin():
        admin = create_user(session, "dpo@example.com", "Data Protection", None, "admin")
        actor = Actor(get_principal(session, admin.id))
        erased = gdpr.erase_contact(session, actor, ann, "asked to be forgotten")
    assert erased["archive.app__interactions"] == 1
    assert erased["archive.ml__sentiment_analysis"] == 1
    with db.connect() as conn:
        assert conn.execute(sa.text("select contact_id from archive.app__interactions")
                            ).scalars().all() == [bob]
        report = lifecycle.report(conn, NOW - timedelta(days=3650))
    erase = [r for r in report if r["action"] == "gdpr_erase"]
    assert [(r["ids"], r["why"]) for r in erase] == [([ann], "asked to be forgotten")]


def test_bad_policy_files_say_what_to_fix(tmp_path):
    cases = {"interactionz: {archive_after_days: 3}": "unknown entity 'interactionz'",
             "events: {purge_trash_after_days: 3}": "events has no trash",
             "contacts: {archive_after_days: 3}": "only purged from the trash",
             "events: {delete_after_days: 0}": "greater than or equal to 1",
             "events: {keep: 3}": "Extra inputs",
             "events: [": "not valid YAML"}
    for text, message in cases.items():
        path = tmp_path / "policies.yaml"
        path.write_text(text)
        with pytest.raises(LifecycleError, match=message):
            lifecycle.load_policies(path)
    with pytest.raises(LifecycleError, match="cannot read"):
        lifecycle.load_policies(tmp_path / "missing.yaml")
    assert lifecycle.load_policies()["interactions"].archive_after_days  # the built-in file


def test_dagster_job_and_the_report_command(db, database_url, tmp_path):
    from orchestration.defs import lifecycle as defs
    from orchestration.resources import Database

    with db.begin() as conn:
        contact = q(conn, "insert into app.contacts (first_name) values ('A') returning id")
        add_interaction(conn, contact, 5000)
    policies = tmp_path / "policies.yaml"
    policies.write_text("interactions: {archive_after_days: 365}\n")
    os.environ["SALESOPS_LIFECYCLE_POLICIES"] = str(policies)
    try:
        result = defs.data_lifecycle.execute_in_process(
            resources={"database": Database(url=database_url)},
            instance=dg.DagsterInstance.ephemeral())
    finally:
        del os.environ["SALESOPS_LIFECYCLE_POLICIES"]
    assert result.output_for_node("apply_retention") == {"archive": 1}
    assert defs.lifecycle_schedule.description and defs.data_lifecycle.description

    env = {**os.environ, "DATABASE_URL": database_url, "SALESOPS_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "salesops", "lifecycle", "report", "--json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    [line] = out.stdout.splitlines()
    row = json.loads(line)
    assert (row["action"], row["entity"], row["rows"], row["where"]) == \
        ("archive", "interactions", 1, "archive.app__interactions")
    assert row["why"].startswith("policy archive_after_days=365")


def _attachment(conn, root, contact: int, name: str, deleted_at: datetime | None) -> str:
    """An attachment row of the contact and its stored file (as the API stores it)."""
    from salesops.domain.attachments import stored_path

    stored = f"{name}{os.urandom(8).hex()}"
    q(conn, "insert into app.attachments (contact_id, filename, stored_name, content_type, "
      "size_bytes, sha256, deleted_at) values (:c, :f, :s, 'text/plain', 2, 'x', :d) "
      "returning id", c=contact, f=f"{name}.txt", s=stored, d=deleted_at)
    path = stored_path(root, stored)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"hi")
    return stored


def test_purging_attachments_removes_their_files_after_the_commit(db, database_url, tmp_path,
                                                                  monkeypatch):
    from salesops.domain.attachments import stored_path

    root = tmp_path / "attachments"
    long_ago = NOW - timedelta(days=40)
    with db.begin() as conn:
        kept_contact = q(conn, "insert into app.contacts (first_name) values ('K') returning id")
        gone_contact = q(conn, "insert into app.contacts (first_name, deleted_at) values "
                         "('G', :t) returning id", t=long_ago)
        trashed = _attachment(conn, root, kept_contact, "trashed", long_ago)
        recent = _attachment(conn, root, kept_contact, "recent", NOW - timedelta(days=2))
        live = _attachment(conn, root, kept_contact, "live", None)
        cascaded = _attachment(conn, root, gone_contact, "cascaded", None)
        missing = _attachment(conn, root, kept_contact, "missing", long_ago)
    stored_path(root, missing).unlink()  # already gone from storage: not an error

    # a purge whose transaction fails leaves rows and files alike
    def refuse(*_):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(lifecycle, "_finish", refuse)
    with pytest.raises(RuntimeError):
        lifecycle.purge(db, "attachments", 30, NOW, root)
    monkeypatch.undo()
    assert stored_path(root, trashed).is_file() and stored_path(root, cascaded).is_file()

    steps = lifecycle.run(db, {"attachments": Policy(purge_trash_after_days=30),
                               "contacts": Policy(purge_trash_after_days=30)},
                          now=NOW, attachments_root=root)
    assert [(s.entity, s.rows, s.dependents) for s in steps] == [
        ("attachments", 2, {"files": 2}), ("contacts", 1, {"files": 1})]
    on_disk = {p.name for p in root.rglob("*") if p.is_file()}
    assert on_disk == {recent, live}
    with db.connect() as conn:
        assert set(conn.execute(sa.text("select stored_name from app.attachments"))
                   .scalars()) == {recent, live}
        audited = conn.execute(sa.text(
            "select entity, after->'dependents' from app.audit_logs "
            "where action = 'lifecycle.purge' order by id")).all()
        assert audited == [("attachments", {"files": 2}), ("contacts", {"files": 1})]
        report = lifecycle.report(conn, NOW - timedelta(days=365))
    assert {(r["entity"], r["rows"], r["dependents"].get("files")) for r in report} == {
        ("attachments", 2, 2), ("contacts", 1, 1)}

    from typer.testing import CliRunner

    from salesops import cli
    from salesops.settings import get_settings

    get_settings.cache_clear()
    try:
        env = {"DATABASE_URL": database_url, "SALESOPS_DATA_DIR": str(tmp_path / "data")}
        human = CliRunner().invoke(cli.app, ["lifecycle", "report"], env=env)
        as_json = CliRunner().invoke(cli.app, ["lifecycle", "report", "--json"], env=env)
    finally:
        get_settings.cache_clear()
    assert human.exit_code == 0, human.output
    [line] = [x for x in human.stdout.splitlines() if " attachments " in x]
    assert "purge" in line and "purge_trash_after_days=30" in line and "with: files 2" in line
    rows = [json.loads(x) for x in as_json.stdout.splitlines()]
    assert {(r["entity"], r["dependents"]["files"]) for r in rows} == {
        ("attachments", 2), ("contacts", 1)}
