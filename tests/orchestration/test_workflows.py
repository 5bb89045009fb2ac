"""Event-driven workflows end to end on the embedded PostgreSQL: sensors see the work, the
jobs do it once (lead assignment, qualified lead -> deal, score jump -> owner notified),
and stage-entry tasks come with every stage a deal enters."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from orchestration.defs import workflows
from orchestration.resources import Database
from salesops import events
from salesops.automation.workflows import SCORE_CHANGED_TOPIC
from salesops.domain import assignment, deals, leads
from salesops.domain.audit import Actor
from salesops.domain.users import create_user, get_principal
from salesops.models import Lead, PipelineStage, StageTaskTemplate, Team


@pytest.fixture
def setup(clean_db, database_url):
    with Session(clean_db) as session, session.begin():
        team = Team(name="Sales")
        session.add(team)
        session.flush()
        rep = create_user(session, "rita@example.com", "Rita Rep", None, "sales_rep",
                          team.id).id
        assignment.save_rule(session, "everyone", team_id=team.id)
    return {"rep": rep, "resources": {"database": Database(url=database_url)},
            "instance": dg.DagsterInstance.ephemeral()}


def sensor_result(sensor, setup):
    with dg.build_sensor_context(instance=setup["instance"],
                                 resources=setup["resources"]) as context:
        return sensor(context)


def run(job, setup, **kwargs):
    result = job.execute_in_process(resources=setup["resources"], instance=setup["instance"],
                                    **kwargs)
    assert result.success
    return result


def add_lead(engine, key, owner_id=None, company="Acme"):
    with Session(engine) as session, session.begin():
        lead = Lead(source="test", source_key=key, owner_id=owner_id, company=company)
        session.add(lead)
        session.flush()
        return lead.id


def actor(engine, user_id):
    with Session(engine) as session:
        return Actor(get_principal(session, user_id))


def test_unassigned_leads_sensor_starts_the_assignment(setup, clean_db):
    assert isinstance(sensor_result(workflows.unassigned_leads_sensor, setup), dg.SkipReason)
    lead_id = add_lead(clean_db, "imported-1")  # made outside capture and the merge
    request = sensor_result(workflows.unassigned_leads_sensor, setup)
    assert isinstance(request, dg.RunRequest) and request.tags["salesops/pending"] == "1"
    result = run(workflows.assign_new_leads, setup)
    assert result.output_for_node("assign_leads") == {"assigned": 1, "unassigned": 0}
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select owner_id from app.leads where id = :id"),
                            {"id": lead_id}).scalar_one() == setup["rep"]
    assert isinstance(sensor_result(workflows.unassigned_leads_sensor, setup), dg.SkipReason)


def test_a_qualified_lead_enters_the_pipeline_once(setup, clean_db):
    with Session(clean_db) as session, session.begin():
        lead = leads.capture_lead(session, email="ann@acme.example", first_name="Ann",
                                  company="Acme", form_key="f", submission_id="s1")
        lead_id, owner_id = lead.id, lead.owner_id
    assert owner_id == setup["rep"]  # assigned at capture
    unowned = add_lead(clean_db, "nobody")
    with clean_db.begin() as conn:  # no rule can place it: no owner to convert for
        conn.execute(sa.text("update app.leads set owner_id = null, status = 'qualified' "
                             "where id = :id"), {"id": unowned})
    rita = actor(clean_db, setup["rep"])
    with Session(clean_db) as session, session.begin():
        leads.qualify(session, rita, lead_id)
        session.execute(sa.text("insert into app.events (topic, aggregate_type, aggregate_id)"
                                " values ('lead.qualified', 'lead', :id)"), {"id": unowned})
    request = sensor_result(workflows.qualified_leads_sensor, setup)
    assert request.tags["salesops/pending"] == "2"
    result = run(workflows.qualified_leads_to_deals, setup)
    assert result.output_for_node("convert_qualified") == {"converted": 1, "skipped": 1,
                                                           "failed": 0}
    with clean_db.connect() as conn:
        status, deal_id = conn.execute(sa.text(
            "select status, converted_deal_id from app.leads where id = :id"),
            {"id": lead_id}).one()
        deal = conn.execute(sa.text("select owner_id, lead_id, name from app.sales_pipeline"
                                    )).mappings().all()
    assert status == "converted" and deal_id is not None
    assert [dict(d) for d in deal] == [{"owner_id": setup["rep"], "lead_id": lead_id,
                                        "name": "Acme - Ann"}]
    # the same event again (at-least-once delivery) converts nothing twice
    with Session(clean_db) as session, session.begin():
        session.execute(sa.text("insert into app.events (topic, aggregate_type, aggregate_id)"
                                " values ('lead.qualified', 'lead', :id)"), {"id": lead_id})
    assert run(workflows.qualified_leads_to_deals, setup).output_for_node(
        "convert_qualified")["converted"] == 0


def test_entering_a_stage_creates_its_tasks(setup, clean_db):
    rita = actor(clean_db, setup["rep"])
    with Session(clean_db) as session, session.begin():
        deals.ensure_default_pipeline(session)
        stages = dict(session.execute(sa.select(PipelineStage.name, PipelineStage.id)).all())
        session.add_all([
            StageTaskTemplate(stage_id=stages["Prospecting"], title="Research the account",
                              due_in_days=2),
            StageTaskTemplate(stage_id=stages["Proposal"], title="Send the proposal",
                              priority="high", task_type="email", due_in_days=1),
            StageTaskTemplate(stage_id=stages["Proposal"], title="Old step", is_active=False)])
    with Session(clean_db) as session, session.begin():
        deal_id = deals.create_deal(session, rita, {"name": "Big one"}).id
    with Session(clean_db) as session, session.begin():
        deals.move(session, rita, deal_id, stages["Proposal"])
    with clean_db.connect() as conn:
        tasks = conn.execute(sa.text(
            "select title, priority, task_type, assignee_id, deal_id, "
            "round(extract(epoch from due_at - created_at) / 86400) as days "
            "from app.tasks order by id")).all()
        topics = conn.execute(sa.text("select count(*) from app.events "
                                      "where topic = 'task.created'")).scalar_one()
    assert [tuple(t) for t in tasks] == [
        ("Research the account", "normal", None, setup["rep"], deal_id, 2),
        ("Send the proposal", "high", "email", setup["rep"], deal_id, 1)]
    assert topics == 2


def test_a_score_jump_notifies_the_owner_once(setup, clean_db):
    jumper = add_lead(clean_db, "jumper", owner_id=setup["rep"], company="Jumpy")
    fallen = add_lead(clean_db, "fallen", owner_id=setup["rep"])
    orphan = add_lead(clean_db, "orphan", owner_id=None)

    def changed(lead_id, owner_id, previous, score):  # what ml.lead_scoring emits
        with Session(clean_db) as session, session.begin():
            events.emit(session, SCORE_CHANGED_TOPIC, "lead", lead_id, {
                "lead_id": lead_id, "owner_id": owner_id, "previous_score": previous,
                "score": score, "change": score - previous})

    changed(jumper, setup["rep"], 30, 75)
    changed(fallen, setup["rep"], 80, 40)  # a fall is no jump
    changed(orphan, None, 10, 90)  # nobody to tell
    assert sensor_result(workflows.score_jump_sensor, setup).tags["salesops/pending"] == "3"
    assert run(workflows.score_jump_notifications, setup).output_for_node(
        "notify_score_jumps") == 1
    assert isinstance(sensor_result(workflows.score_jump_sensor, setup), dg.SkipReason)
    assert run(workflows.score_jump_notifications, setup).output_for_node(
        "notify_score_jumps") == 0  # again: nothing new
    with clean_db.connect() as conn:
        notes = conn.execute(sa.text("select user_id, kind, title, payload->>'lead_id' "
                                     "from app.notifications")).all()
        emails = conn.execute(sa.text("select count(*) from app.outbound_emails "
                                      "where kind = 'lead_score_jump'")).scalar_one()
    assert [tuple(n) for n in notes] == [(setup["rep"], "lead_score_jump",
                                          "Jumpy: score up to 75", str(jumper))]
    assert emails == 1

def test_a_sentiment_drop_notifies_the_owner_once(setup, clean_db):
    from ml.sentiment.trends import alert_drops

    with clean_db.begin() as conn:
        q = lambda sql, **p: conn.execute(sa.text(sql), p).scalar()  # noqa: E731
        owned = q("insert into app.contacts (first_name, last_name, owner_id) values "
                  "('Ann', 'Smith', :u) returning id", u=setup["rep"])
        orphan = q("insert into app.contacts (first_name) values ('Nobody') returning id")
        for contact in (owned, orphan):  # two warm emails, then three cold ones
            for day, score in enumerate((0.8, 0.7, -0.6, -0.7, -0.5)):
                interaction = q(
                    "insert into app.interactions (kind, direction, contact_id, occurred_at) "
                    "values ('email', 'inbound', :c, now() - make_interval(days => :d)) "
                    "returning id", c=contact, d=10 - day)
                q("insert into ml.sentiment_analysis (interaction_id, label, score, "
                  "model_name, model_version, mlflow_run_id) values (:i, :l, :s, 'sentiment',"
                  " '1', 'run') returning id", i=interaction, s=score,
                  l="positive" if score > 0 else "negative")
    assert alert_drops(clean_db) == 2  # what the sentiment scoring asset does after scoring
    assert sensor_result(workflows.sentiment_drop_sensor, setup).tags["salesops/pending"] \
        == "2"
    assert run(workflows.sentiment_drop_notifications, setup).output_for_node(
        "notify_sentiment_drops") == 1  # the orphan has nobody to tell
    assert isinstance(sensor_result(workflows.sentiment_drop_sensor, setup), dg.SkipReason)
    assert alert_drops(clean_db) == 0
    with clean_db.connect() as conn:
        notes = conn.execute(sa.text(
            "select user_id, kind, title, payload->>'entity_id' from app.notifications")).all()
    assert [tuple(n) for n in notes] == [(setup["rep"], "sentiment_drop",
                                          "Ann Smith: sentiment dropped", str(owned))]
