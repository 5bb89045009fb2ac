"""The automations as Dagster sees them: named, described, tagged, and runnable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from orchestration.defs import automations
from orchestration.resources import Database
from salesops.models import Reminder
from tests.automations.helpers import AUDIENCE_MQL, SECRET, add_campaign, add_contacts, add_user


def _resources(database_url: str, port: int) -> dict:
    return {"database": Database(url=database_url),
            "mail": automations.Mail(smtp_host="127.0.0.1", smtp_port=port, max_per_second=0,
                                     tracking_secret=SECRET)}


def test_every_job_schedule_and_sensor_says_what_it_does():
    for job in automations.jobs:
        assert job.description and job.tags["salesops/system"] == "automations", job.name
        assert job.tags["salesops/automation"]
    for definition in [*automations.schedules, *automations.sensors]:
        assert definition.description, definition.name
    assert {s.name for s in automations.schedules} == {"reminders_every_minute",
                                                       "escalations_every_15_minutes"}


def test_reminder_job_runs_end_to_end(clean_db, database_url, smtp):
    inbox, port = smtp
    with Session(clean_db) as session, session.begin():
        rita = add_user(session, "rita@example.com", "Rita Rep")
        session.add(Reminder(user_id=rita, message="follow up", idempotency_key="r1",
                             remind_at=datetime.now(UTC) - timedelta(minutes=1)))
    result = automations.send_due_reminders.execute_in_process(
        resources=_resources(database_url, port))
    assert result.success
    assert result.output_for_node("dispatch_reminders") == {
        "reminders": 1, "emails_sent": 1, "emails_failed": 0}
    assert inbox.to() == ["rita@example.com"]


def test_campaign_sensor_starts_a_run_that_sends_and_completes(clean_db, database_url, smtp):
    inbox, port = smtp
    add_contacts(clean_db, [{"first_name": "Ann", "email": "ann@example.com", "stage": "sql"}])
    resources = _resources(database_url, port)
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        assert isinstance(automations.due_campaigns_sensor(context), dg.SkipReason)
    campaign_id = add_campaign(clean_db, AUDIENCE_MQL, "Hello {{ first_name }}")
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        request = automations.due_campaigns_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["salesops/campaigns"] == str(campaign_id)
    result = automations.run_campaigns.execute_in_process(resources=resources,
                                                          instance=instance)
    assert result.output_for_node("send_campaigns")["sent"] == 1
    assert inbox.to() == ["Ann <ann@example.com>"]
    with clean_db.connect() as conn:
        assert conn.execute(sa.text("select status from app.marketing_campaigns")).scalar() \
            == "completed"


def test_outbox_sensors_start_runs_only_when_their_events_wait(clean_db, database_url):
    from salesops import events

    instance = dg.DagsterInstance.ephemeral()
    resources = {"database": Database(url=database_url)}
    sensors = (automations.engagement_sensor, automations.won_deal_sensor)
    for sensor in sensors:
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            assert isinstance(sensor(context), dg.SkipReason)
    with Session(clean_db) as session, session.begin():
        events.emit(session, "campaign.engagement", "campaign_delivery", 1)
        events.emit(session, "deal.won", "deal", 7)
        events.emit(session, "deal.won", "deal", 8)
    counts = []
    for sensor in sensors:
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            counts.append(sensor(context).tags["salesops/pending_events"])
    assert counts == ["1", "2"]
