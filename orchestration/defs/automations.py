"""Automations: reminders, escalations, campaign sends, engagement loading and won deals,
as Dagster jobs on schedules and sensors. The work itself lives in `salesops.automation`; these ops
only wire it to the database and the SMTP server and report what happened."""


import dagster as dg

from orchestration.resources import Database
from orchestration.runs import request_if_waiting, single_op_job
from salesops import events
from salesops.automation import campaigns, engagement, finance, notify, reminders
from salesops.automation.tracking import Tracker
from salesops.mailer import Mailer, MailSettings
from salesops.settings import Settings

TAGS = {"salesops/system": "automations"}


class Mail(dg.ConfigurableResource):
    """The SMTP server and tracking links: SALESOPS_MAIL_* unless overridden here."""

    smtp_host: str | None = None
    smtp_port: int | None = None
    max_per_second: float | None = None
    tracking_secret: str | None = None

    def settings(self) -> MailSettings:
        overrides = {k: v for k, v in (("smtp_host", self.smtp_host),
                                       ("smtp_port", self.smtp_port),
                                       ("max_per_second", self.max_per_second))
                     if v is not None}
        return MailSettings(**overrides)

    def mailer(self) -> Mailer:
        return Mailer(self.settings())

    def tracker(self) -> Tracker:
        secret = self.tracking_secret or Settings().secret_key()
        return Tracker(secret, self.settings().tracking_base_url)


def _send_user_emails(context: dg.OpExecutionContext, database: Database, mail: Mail) -> dict:
    with mail.mailer() as mailer:
        report = notify.send_outbound_emails(database.engine, mailer)
    context.log.info(f"user emails: {report.sent} sent, {report.failed} failed")
    return {"emails_sent": report.sent, "emails_failed": report.failed}


@dg.op(description="Notify the owners of due reminders (in-app, and email queued), once "
                   "each; then send the queued user emails over SMTP.")
def dispatch_reminders(context: dg.OpExecutionContext, database: Database, mail: Mail) -> dict:
    report = reminders.dispatch_due_reminders(
        database.engine, sender_domain=mail.settings().message_id_domain)
    context.log.info(f"{report.dispatched} reminders dispatched: {report.in_app} in-app, "
                     f"{report.emails_queued} emails queued")
    sent = _send_user_emails(context, database, mail)
    context.add_output_metadata({"reminders": report.dispatched, **sent})
    return {"reminders": report.dispatched, **sent}


class EscalationConfig(dg.Config):
    grace_hours: float = 24.0


@dg.op(description="Escalate open high/urgent tasks overdue by more than the grace period "
                   "to the assignee's manager, once each; then send the queued emails.")
def escalate_tasks(context: dg.OpExecutionContext, config: EscalationConfig,
                   database: Database, mail: Mail) -> dict:
    from datetime import timedelta

    report = reminders.escalate_overdue_tasks(
        database.engine, sender_domain=mail.settings().message_id_domain,
        grace=timedelta(hours=config.grace_hours))
    if report.without_manager:
        context.log.warning(f"{report.without_manager} overdue tasks have no manager to "
                            f"escalate to: set the assignee's manager or team manager")
    sent = _send_user_emails(context, database, mail)
    context.add_output_metadata({"escalated": report.escalated,
                                 "without_manager": report.without_manager, **sent})
    return {"escalated": report.escalated, **sent}


@dg.op(description="Start every due campaign (audience resolved now) and send what is "
                   "left of every running one, throttled, with retries.")
def send_campaigns(context: dg.OpExecutionContext, database: Database, mail: Mail) -> dict:
    totals = {"campaigns": 0, "sent": 0, "failed": 0, "suppressed": 0}
    with mail.mailer() as mailer:
        for audience, result in campaigns.run_due_campaigns(database.engine, mailer,
                                                            mail.tracker()):
            if audience is not None:
                context.log.info(f"campaign {result.campaign_id}: audience {audience.queued} "
                                 f"queued, {audience.suppressed} suppressed")
            context.log.info(f"campaign {result.campaign_id}: {result.sent} sent, "
                             f"{result.failed} failed, completed={result.completed}"
                             + (f"; errors: {result.errors}" if result.errors else ""))
            totals["campaigns"] += 1
            for key in ("sent", "failed", "suppressed"):
                totals[key] += getattr(result, key)
    context.add_output_metadata(totals)
    return totals


@dg.op(description="Load waiting opens, clicks and unsubscribes from the outbox into "
                   "raw.touchpoints__events, as one batch.")
def load_engagement(context: dg.OpExecutionContext, database: Database) -> int:
    loaded = engagement.load_engagement(database.engine)
    context.log.info(f"{loaded} engagement events loaded into raw")
    context.add_output_metadata({"events": loaded})
    return loaded


@dg.op(description="A won deal (deal.won in the outbox) becomes a contract and a customer, "
                   "and is pushed to the financial system's webhook, signed, once.")
def push_won_deals(context: dg.OpExecutionContext, database: Database) -> dict:
    done, failed = finance.process_won_deals(database.engine)
    if failed:
        context.log.warning(f"{failed} won deals could not be pushed; they are retried by "
                            f"the next run (see app.integration_sync_runs)")
    context.add_output_metadata({"done": done, "failed": failed})
    return {"done": done, "failed": failed}


def _job(name: str, op: dg.OpDefinition, description: str, kind: str) -> dg.JobDefinition:
    return single_op_job(name, op, description, {**TAGS, "salesops/automation": kind})


send_due_reminders = _job("send_due_reminders", dispatch_reminders,
                          "Due reminders to their owners, by preference, exactly once.",
                          "reminders")
escalate_overdue_tasks = _job("escalate_overdue_tasks", escalate_tasks,
                              "Overdue high-priority tasks to the manager, once.",
                              "escalation")
run_campaigns = _job("run_campaigns", send_campaigns,
                     "Send due and running email campaigns over SMTP.", "campaigns")
handle_won_deals = _job("handle_won_deals", push_won_deals,
                        "Won deals: contract, customer status, push to the financial system.",
                        "won_deals")
load_campaign_engagement = _job("load_campaign_engagement", load_engagement,
                                "Email opens, clicks and unsubscribes into raw.", "engagement")

reminders_schedule = dg.ScheduleDefinition(
    name="reminders_every_minute", job=send_due_reminders, cron_schedule="* * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING, tags={"salesops/trigger": "schedule"},
    description="Looks for due reminders every minute.")
escalation_schedule = dg.ScheduleDefinition(
    name="escalations_every_15_minutes", job=escalate_overdue_tasks,
    cron_schedule="*/15 * * * *", default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"salesops/trigger": "schedule"},
    description="Looks for overdue high-priority tasks every 15 minutes.")


def _outbox_request(context: dg.SensorEvaluationContext, job: dg.JobDefinition,
                    database: Database, topic: str, what: str):
    waiting = events.pending(database.engine, [topic])
    return request_if_waiting(context, job, waiting, what, {
        "salesops/trigger": "outbox", "salesops/pending_events": str(waiting)})


@dg.sensor(job=run_campaigns, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts run_campaigns when a campaign's time has come (scheduled_at) "
                       "or it was launched, and while a running one has mail left.")
def due_campaigns_sensor(context: dg.SensorEvaluationContext, database: Database):
    due = campaigns.due_campaigns(database.engine)
    return request_if_waiting(context, run_campaigns, due, "campaigns due", {
        "salesops/trigger": "sensor", "salesops/campaigns": ",".join(map(str, due[:20]))})


@dg.sensor(job=load_campaign_engagement, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts load_campaign_engagement when opens, clicks or unsubscribes "
                       "wait in the outbox.")
def engagement_sensor(context: dg.SensorEvaluationContext, database: Database):
    return _outbox_request(context, load_campaign_engagement, database,
                           engagement.ENGAGEMENT_TOPIC, "engagement events")


@dg.sensor(job=handle_won_deals, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts handle_won_deals when deal.won events wait in the outbox.")
def won_deal_sensor(context: dg.SensorEvaluationContext, database: Database):
    return _outbox_request(context, handle_won_deals, database, finance.WON_TOPIC,
                           "won deals")


jobs = [send_due_reminders, escalate_overdue_tasks, run_campaigns, load_campaign_engagement,
        handle_won_deals]
schedules = [reminders_schedule, escalation_schedule]
sensors = [due_campaigns_sensor, engagement_sensor, won_deal_sensor]


def mail_resource() -> Mail:
    return Mail()
