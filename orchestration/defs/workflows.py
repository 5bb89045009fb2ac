"""Event-driven workflows: leads assigned, qualified leads into the pipeline, score jumps
and sentiment drops told to the owner. Each is a small job started by a sensor as soon as
there is work, not at the next schedule. The rules live in `salesops`
(domain.assignment, automation.workflows); the new-lead scoring sensor (defs/ml.py) keeps
its own `lead.created` events."""


import dagster as dg

from orchestration.resources import Database
from orchestration.runs import request_if_waiting, single_op_job
from salesops import events
from salesops.automation import workflows
from salesops.domain import assignment

TAGS = {"salesops/system": "workflows"}


@dg.op(description="Give every unowned open lead an owner by the assignment rules "
                   "(or record why nobody can take it).")
def assign_leads(context: dg.OpExecutionContext, database: Database) -> dict:
    report = assignment.assign_all(database.engine)
    context.log.info(f"{report.assigned} leads assigned, {report.unassigned} unowned "
                     f"(reasons in app.lead_assignments)")
    context.add_output_metadata({"assigned": report.assigned,
                                 "unassigned": report.unassigned})
    return {"assigned": report.assigned, "unassigned": report.unassigned}


@dg.op(description="Qualified leads (lead.qualified in the outbox) become deals of their "
                   "owner, once.")
def convert_qualified(context: dg.OpExecutionContext, database: Database) -> dict:
    report = workflows.convert_qualified_leads(database.engine)
    if report.failed:
        context.log.warning(f"{report.failed} qualified leads could not be converted; their "
                            f"events are retried (app.events.last_error says why)")
    result = {"converted": report.converted, "skipped": report.skipped,
              "failed": report.failed}
    context.add_output_metadata(result)
    return result


@dg.op(description="Notify the owner of each lead whose score rose (lead.score_changed in "
                   "the outbox, emitted when a score moves by the scorer's threshold), once.")
def notify_score_jumps(context: dg.OpExecutionContext, database: Database) -> int:
    told = workflows.notify_score_jumps(database.engine)
    context.log.info(f"{told} owners told of a score jump")
    context.add_output_metadata({"notified": told})
    return told


@dg.op(description="Notify the owner of each contact or account whose email sentiment "
                   "dropped (sentiment.dropped in the outbox, emitted by the sentiment "
                   "trends after scoring), once.")
def notify_sentiment_drops(context: dg.OpExecutionContext, database: Database) -> int:
    told = workflows.notify_sentiment_drops(database.engine)
    context.log.info(f"{told} owners told of a sentiment drop")
    context.add_output_metadata({"notified": told})
    return told


def _job(name: str, op: dg.OpDefinition, description: str, kind: str) -> dg.JobDefinition:
    return single_op_job(name, op, description, {**TAGS, "salesops/workflow": kind})


assign_new_leads = _job("assign_new_leads", assign_leads,
                        "Assign unowned leads by the rules in app.assignment_rules.",
                        "assignment")
qualified_leads_to_deals = _job("qualified_leads_to_deals", convert_qualified,
                                "A qualified lead enters the pipeline as a deal.",
                                "qualified")
score_jump_notifications = _job("score_jump_notifications", notify_score_jumps,
                                "Tell owners when a lead's score jumps.", "score_jump")

sentiment_drop_notifications = _job("sentiment_drop_notifications", notify_sentiment_drops,
                                    "Tell owners when a contact's or account's sentiment "
                                    "drops.", "sentiment_drop")


def _request(context: dg.SensorEvaluationContext, job: dg.JobDefinition, waiting: int,
             what: str):
    return request_if_waiting(context, job, waiting, what, {
        "salesops/trigger": "sensor", "salesops/pending": str(waiting)})


@dg.sensor(job=assign_new_leads, minimum_interval_seconds=15,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts assign_new_leads when a lead no assignment has looked at "
                       "appears (leads made outside capture and the merge).")
def unassigned_leads_sensor(context: dg.SensorEvaluationContext, database: Database):
    return _request(context, assign_new_leads, assignment.pending(database.engine),
                    "unassigned leads")


def _outbox_sensor(name: str, job: dg.JobDefinition, topic: str, what: str,
                   interval: int) -> dg.SensorDefinition:
    """A sensor starting `job` when events of `topic` wait in the outbox."""
    @dg.sensor(name=name, job=job, minimum_interval_seconds=interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Starts {job.name} when {topic} events wait in the outbox.")
    def _sensor(context: dg.SensorEvaluationContext, database: Database):
        return _request(context, job, events.pending(database.engine, [topic]), what)

    return _sensor


qualified_leads_sensor = _outbox_sensor("qualified_leads_sensor", qualified_leads_to_deals,
                                        workflows.QUALIFIED_TOPIC, "qualified leads", 15)
score_jump_sensor = _outbox_sensor("score_jump_sensor", score_jump_notifications,
                                   workflows.SCORE_CHANGED_TOPIC, "score changes", 30)
sentiment_drop_sensor = _outbox_sensor("sentiment_drop_sensor", sentiment_drop_notifications,
                                       workflows.SENTIMENT_DROPPED_TOPIC, "sentiment drops", 30)


jobs = [assign_new_leads, qualified_leads_to_deals, score_jump_notifications,
        sentiment_drop_notifications]
sensors = [unassigned_leads_sensor, qualified_leads_sensor, score_jump_sensor,
           sentiment_drop_sensor]
