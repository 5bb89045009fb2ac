"""Reverse ETL to a local HubSpot-shaped server: scores, next best actions and status
written back by batch update, conflict rules per field, the sync log, 429s and 500s, a
contact HubSpot no longer has, and a run that died half-way."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.hubspot_api import HubSpotClient, HubSpotError, Retry
from salesops.automation.crm_writeback import CrmSyncError, CrmSyncSettings, write_back

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))
from hubspot_server import TOKEN, HubSpotServer  # noqa: E402

LONG_AGO = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def hubspot():
    server = HubSpotServer()
    yield server
    server.close()


def client(server: HubSpotServer, attempts: int = 4) -> HubSpotClient:
    return HubSpotClient(TOKEN, base_url=server.url, retry=Retry(attempts=attempts, base=0),
                         sleep=lambda _: None)


def add_lead(engine: sa.Engine, hubspot_id: str, *, status: str = "working",
             score: int | None = None, action: str | None = None) -> int:
    """A contact linked to a HubSpot contact, its lead, a score and a next action."""
    with engine.begin() as conn:
        contact = conn.execute(sa.text(
            "insert into app.contacts (email, email_normalized) "
            "values (cast(:e as text), :e) returning id"),
            {"e": f"c{hubspot_id}@example.com"}).scalar_one()
        conn.execute(sa.text(
            "insert into app.contact_sources (contact_id, source, source_key, match_rule) "
            "values (:c, 'hubspot.contact', :k, 'source_key')"), {"c": contact, "k": hubspot_id})
        lead = conn.execute(sa.text(
            "insert into app.leads (contact_id, status, company) values (:c, :s, 'Acme') "
            "returning id"), {"c": contact, "s": status}).scalar_one()
        model = "model_name, model_version, mlflow_run_id"
        if score is not None:
            conn.execute(sa.text(
                f"insert into ml.lead_scores (lead_id, score, band, probability, {model}) "
                "values (:l, :s, 'A', 0.5, 'lead_scoring', '1', 'run')"), {"l": lead, "s": score})
        if action is not None:
            conn.execute(sa.text(
                f"insert into ml.next_best_actions (lead_id, action, rank, {model}) "
                "values (:l, :a, 1, 'nba', '1', 'run')"), {"l": lead, "a": action})
    return lead


def log(engine: sa.Engine, run_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select object_id, field, direction, decision, rule, local_value, crm_value "
            "from ops.crm_sync_log where run_id = :r order by object_id, field"),
            {"r": run_id})]


def props(server: HubSpotServer, obj_id: str) -> dict:
    p = server.objects["contacts"][obj_id]["properties"]
    return {k: p.get(k) for k in ("salesops_lead_score", "salesops_next_best_action",
                                  "salesops_qualification_status")}


def test_values_pushed_once_by_batch_update_and_logged(clean_db, hubspot):
    hubspot.put("contacts", "101", LONG_AGO, email="c101@example.com")
    hubspot.put("contacts", "102", LONG_AGO, email="c102@example.com",
                salesops_lead_score="40")
    add_lead(clean_db, "101", score=87, action="call", status="qualified")
    add_lead(clean_db, "102", score=40, action="email")

    report = write_back(clean_db, client(hubspot))
    assert (report.compared, report.pushed, report.failed, report.status) == \
        (2, 5, 0, "succeeded")
    assert props(hubspot, "101") == {"salesops_lead_score": "87",
                                     "salesops_next_best_action": "call",
                                     "salesops_qualification_status": "qualified"}
    # the score HubSpot already had is not written again nor logged
    assert [r[1] for r in log(clean_db, report.run_id) if r[0] == "102"] == \
        ["salesops_next_best_action", "salesops_qualification_status"]
    assert all(r[2:5] in {("to_crm", "pushed", "salesops_owns"),
                          ("to_crm", "pushed", "later_change")}
               for r in log(clean_db, report.run_id))
    assert [r for r in hubspot.requests if "batch" in r] == [
        "POST /crm/v3/objects/contacts/batch/read", "POST /crm/v3/objects/contacts/batch/update"]

    again = write_back(clean_db, client(hubspot), full=True)  # nothing differs now
    assert (again.compared, again.pushed, len(hubspot.updates)) == (2, 0, 1)
    with clean_db.connect() as conn:
        runs = conn.execute(sa.text("select status, records_out from app.integration_sync_runs "
                                    "where kind = 'crm' order by id")).all()
    assert runs == [("succeeded", 5), ("succeeded", 0)]


def test_conflict_rules_per_field(clean_db, hubspot):
    hubspot.put("contacts", "201", LONG_AGO, email="c201@example.com")
    lead = add_lead(clean_db, "201", score=70, action="demo", status="working")
    write_back(clean_db, client(hubspot))
    # a rep edits all three in HubSpot, later than our values
    later = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp() * 1000)
    hubspot.edit("contacts", "201", later, salesops_lead_score="10",
                 salesops_next_best_action="wait", salesops_qualification_status="nurturing")

    report = write_back(clean_db, client(hubspot), full=True)
    # ours owns the model outputs; the status edited later in HubSpot stays
    assert props(hubspot, "201") == {"salesops_lead_score": "70",
                                     "salesops_next_best_action": "demo",
                                     "salesops_qualification_status": "nurturing"}
    assert ("201", "salesops_qualification_status", "from_crm", "kept_crm", "later_change",
            "working", "nurturing") in log(clean_db, report.run_id)
    # ... and is applied to our lead through the domain service, audited, with its event
    assert (report.kept_crm, report.applied) == (1, 1)
    with clean_db.connect() as conn:
        assert conn.scalar(sa.text("select status from app.leads where id = :l"),
                           {"l": lead}) == "nurturing"
        audit = conn.execute(sa.text(
            "select u.email, a.request_id, a.after->>'status' from app.audit_logs a "
            "join app.users u on u.id = a.user_id where a.entity = 'leads' "
            "and a.entity_id = :l"), {"l": str(lead)}).all()
        assert audit == [("hubspot-sync@salesops.local", f"crm-sync:{report.run_id}",
                          "nurturing")]
        assert conn.scalar(sa.text(
            "select payload->>'reason' from app.events where topic = 'lead.updated' "
            "and aggregate_id = :l"), {"l": str(lead)}) == "set in HubSpot"

    # then the lead changes here, after HubSpot's edit: ours is the later change
    with clean_db.begin() as conn:
        conn.execute(sa.text("update app.leads set status = 'qualified', updated_at = :t "
                             "where id = :l"),
                     {"l": lead, "t": datetime.now(UTC) + timedelta(minutes=10)})
    write_back(clean_db, client(hubspot))
    assert props(hubspot, "201")["salesops_qualification_status"] == "qualified"

    # configured: HubSpot owns the score
    hubspot.edit("contacts", "201", later, salesops_lead_score="11")
    rules = CrmSyncSettings(_env_file=None, rules={"lead_score": "crm"})
    report = write_back(clean_db, client(hubspot), rules, full=True)
    assert props(hubspot, "201")["salesops_lead_score"] == "11"
    assert [r[2:5] for r in log(clean_db, report.run_id)] == [
        ("from_crm", "kept_crm", "crm_owns")]
    with pytest.raises(CrmSyncError, match="unknown field.*lead_score"):
        write_back(clean_db, client(hubspot), CrmSyncSettings(_env_file=None,
                                                              rules={"score": "crm"}))


def test_a_status_hubspot_owns_is_applied_here_and_model_outputs_stay_ours(clean_db,
                                                                            hubspot):
    statuses = {"901": ("working", "disqualified"), "902": ("new", "qualified"),
                "903": ("converted", "working"), "904": ("working", "banana")}
    ids = {}
    for obj, (ours, theirs) in statuses.items():
        hubspot.put("contacts", obj, LONG_AGO, email=f"c{obj}@example.com",
                    salesops_qualification_status=theirs, salesops_lead_score="5")
        ids[obj] = add_lead(clean_db, obj, status=ours, score=70)
    rules = CrmSyncSettings(_env_file=None, rules={"qualification_status": "crm",
                                                   "lead_score": "crm"})
    report = write_back(clean_db, client(hubspot), rules)
    assert (report.applied, report.failed, report.pushed, report.status) == \
        (2, 2, 0, "partial")
    with clean_db.connect() as conn:
        leads = {r.id: r for r in conn.execute(sa.text(
            "select id, status, disqualified_reason, qualified_at from app.leads"))}
        assert [leads[ids[o]].status for o in sorted(statuses)] == \
            ["disqualified", "qualified", "converted", "working"]
        assert leads[ids["901"]].disqualified_reason == "set in HubSpot"
        assert leads[ids["902"]].qualified_at is not None
        events = conn.execute(sa.text(
            "select topic, aggregate_id, payload->>'reason' from app.events "
            "where topic like 'lead.%' order by id")).all()
        assert events == [("lead.disqualified", str(ids["901"]), "set in HubSpot"),
                          ("lead.qualified", str(ids["902"]), "set in HubSpot")]
        assert conn.execute(sa.text(
            "select action from app.audit_logs where entity = 'leads' order by id")
            ).scalars().all() == ["disqualify", "qualify"]
        # scores stay ours: HubSpot's value is kept there, nothing changes in ml
        assert conn.execute(sa.text("select distinct score from ml.lead_scores")
                            ).scalars().all() == [70]
        failed = conn.execute(sa.text(
            "select object_id, error from ops.crm_sync_log where run_id = :r "
            "and decision = 'failed' order by object_id"), {"r": report.run_id}).all()
    assert [f[0] for f in failed] == ["903", "904"]
    assert "converted" in failed[0][1] and "'banana' is not a status" in failed[1][1]
    assert {(r[0], r[1], r[3]) for r in log(clean_db, report.run_id)} >= {
        ("901", "salesops_qualification_status", "kept_crm"),
        ("901", "salesops_lead_score", "kept_crm")}
    assert props(hubspot, "901")["salesops_lead_score"] == "5"

    again = write_back(clean_db, client(hubspot), rules)  # agreed: only the refused remain
    assert (again.applied, again.failed) == (0, 2)


def test_rate_limits_and_500s_are_retried(clean_db, hubspot):
    hubspot.put("contacts", "301", LONG_AGO, email="c301@example.com")
    add_lead(clean_db, "301", score=55)
    hubspot.failures = [(429, {"Retry-After": "0"}), (500, {}), (429, {"Retry-After": "0"})]
    report = write_back(clean_db, client(hubspot, attempts=5))
    assert report.pushed == 2 and report.status == "succeeded"
    assert props(hubspot, "301")["salesops_lead_score"] == "55"


def test_a_timeout_is_retried(clean_db, hubspot):
    hubspot.put("contacts", "351", LONG_AGO, email="c351@example.com")
    add_lead(clean_db, "351", score=58)
    hubspot.stalls = [0, 1.0]  # the read answers, the first update times out
    impatient = HubSpotClient(TOKEN, base_url=hubspot.url, timeout=0.3,
                              retry=Retry(attempts=3, base=0), sleep=lambda _: None)
    report = write_back(clean_db, impatient)
    assert report.pushed == 2 and props(hubspot, "351")["salesops_lead_score"] == "58"
    assert hubspot.requests.count("POST /crm/v3/objects/contacts/batch/update") == 2


def test_hubspot_down_fails_the_run_and_the_next_run_catches_up(clean_db, hubspot):
    hubspot.put("contacts", "401", LONG_AGO, email="c401@example.com")
    add_lead(clean_db, "401", score=66)
    hubspot.fail_from = 1
    with pytest.raises(HubSpotError, match="kept failing"):
        write_back(clean_db, client(hubspot, attempts=2))
    hubspot.fail_from = None
    report = write_back(clean_db, client(hubspot))  # incremental: no finished run yet
    assert report.pushed == 2
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select status from app.integration_sync_runs "
                                    "where kind = 'crm' order by id")).scalars().all() == \
            ["failed", "succeeded"]
        assert conn.execute(sa.text("select status from app.crm_integrations")).scalar() == \
            "succeeded"


def test_a_failed_update_is_logged_and_retried_by_the_next_run(clean_db, hubspot):
    hubspot.put("contacts", "501", LONG_AGO, email="c501@example.com")
    add_lead(clean_db, "501", score=77)
    add_lead(clean_db, "599", score=12)  # HubSpot has no contact 599
    hubspot.fail_from = 2  # the read succeeds, the update answers 500 until the client gives up
    report = write_back(clean_db, client(hubspot, attempts=2))
    assert (report.pushed, report.status) == (0, "failed")
    decisions = {(r[0], r[1], r[3]) for r in log(clean_db, report.run_id)}
    assert ("501", "salesops_lead_score", "failed") in decisions
    assert ("599", "*", "failed") in decisions
    hubspot.fail_from = None
    retry = write_back(clean_db, client(hubspot))
    assert retry.pushed == 2 and props(hubspot, "501")["salesops_lead_score"] == "77"


def test_a_run_left_running_by_a_killed_worker_is_closed(clean_db, hubspot):
    hubspot.put("contacts", "601", LONG_AGO, email="c601@example.com")
    add_lead(clean_db, "601", score=90)
    with clean_db.begin() as conn:
        integration = conn.execute(sa.text(
            "insert into app.crm_integrations (name, provider) values "
            "('hubspot-writeback', 'hubspot') returning id")).scalar_one()
        conn.execute(sa.text(
            "insert into app.integration_sync_runs (kind, integration_id, direction) "
            "values ('crm', :i, 'push')"), {"i": integration})
    report = write_back(clean_db, client(hubspot))
    assert report.pushed == 2
    with clean_db.connect() as conn:
        rows = conn.execute(sa.text("select status, errors from app.integration_sync_runs "
                                    "order by id")).all()
    assert rows[0] == ("failed", ["the worker stopped before the run finished"])
    assert rows[1][0] == "succeeded"


def test_dagster_job_and_schedule(clean_db, database_url, hubspot, monkeypatch):
    import dagster as dg

    from orchestration.defs import crm_sync
    from orchestration.resources import Database, HubSpotApi

    assert crm_sync.crm_writeback_schedule.description
    assert crm_sync.crm_writeback_job.tags["salesops/automation"] == "crm_writeback"
    hubspot.put("contacts", "701", LONG_AGO, email="c701@example.com")
    add_lead(clean_db, "701", score=61)
    monkeypatch.setenv("HUBSPOT_TEST_TOKEN", TOKEN)
    result = crm_sync.crm_writeback_job.execute_in_process(
        resources={"database": Database(url=database_url),
                   "hubspot_api": HubSpotApi(token_env="HUBSPOT_TEST_TOKEN",
                                             base_url=hubspot.url)},
        run_config=dg.RunConfig(ops={"write_back_to_crm": crm_sync.WriteBackConfig(full=True)}))
    assert result.output_for_node("write_back_to_crm") == {
        "compared": 1, "pushed": 2, "kept_crm": 0, "applied": 0, "failed": 0}
    assert props(hubspot, "701")["salesops_lead_score"] == "61"


def test_batch_update_names_the_ids_hubspot_refused(hubspot):
    hubspot.put("contacts", "801", LONG_AGO, email="c801@example.com")
    refused = client(hubspot).update_properties("contacts", {
        "801": {"salesops_lead_score": "5"}, "802": {"salesops_lead_score": "6"}})
    assert refused == {"802": "OBJECT_NOT_FOUND: Object not found"}
    assert props(hubspot, "801")["salesops_lead_score"] == "5"
    read = client(hubspot).read_properties("contacts", ["801", "802"], ["salesops_lead_score"])
    assert list(read) == ["801"] and read["801"]["salesops_lead_score"][0] == "5"
