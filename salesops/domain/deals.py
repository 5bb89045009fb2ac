"""Deals (app.sales_pipeline) on pipelines of stages, and the rules for moving them.

- A deal takes its probability and forecast category from the stage it enters.
- It is created in an open stage (the pipeline's first by default) and leaves a closed
  stage never: reopening is a new deal.
- Closed Won needs an amount and an expected close date; Closed Lost needs a reason.
- Every move closes the open stage-history row and opens one for the new stage.
- Winning creates the deal's contract (draft, the deal's amount and account).
- Entering a stage (on creation too) gives the deal's owner the stage's tasks
  (`app.stage_task_templates`), so API moves and conversions get them alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from salesops.domain import audit, records
from salesops.domain.audit import Actor
from salesops.domain.contacts import ACCOUNTS, CONTACTS
from salesops.domain.errors import Conflict, InvalidInput
from salesops.domain.records import Filter, Resource, columns, names
from salesops.merge import DEFAULT_PIPELINE, STAGES
from salesops.models import (
    Contract,
    Deal,
    DealStageHistory,
    Pipeline,
    PipelineStage,
    StageTaskTemplate,
    Task,
)
from salesops.security import permissions

MAX_REASON_LENGTH = 1000

_contract_id = (sa.select(Contract.id).where(Contract.deal_id == Deal.id)
                .correlate(Deal).scalar_subquery())

DEALS = Resource(
    name="deals", entity="deal", model=Deal,
    fields={**columns(Deal, "id name account_id contact_id lead_id pipeline_id stage_id"),
            "stage": PipelineStage.name,
            **columns(Deal, "owner_id campaign_id amount currency probability "
                      "forecast_category expected_close_date closed_at is_won loss_reason "
                      "deal_type lead_source created_at updated_at deleted_at version"),
            "contract_id": _contract_id},
    writable=names("name account_id contact_id owner_id amount currency expected_close_date "
                   "deal_type lead_source"),
    sorts=("id", "name", "amount", "expected_close_date", "probability", "created_at",
           "updated_at"),
    filters={"owner_id": Filter(Deal.owner_id, int, user=True),
             "pipeline_id": Filter(Deal.pipeline_id, int),
             "stage_id": Filter(Deal.stage_id, int),
             "forecast_category": Filter(Deal.forecast_category),
             "account_id": Filter(Deal.account_id, int),
             "is_won": Filter(Deal.is_won, bool),
             "close_after": Filter(Deal.expected_close_date, dt.date, "gte"),
             "close_before": Filter(Deal.expected_close_date, dt.date, "lt")},
    campaign="campaign_id",
    references={"account_id": ACCOUNTS, "contact_id": CONTACTS},
    joins=lambda q: q.join(PipelineStage, PipelineStage.id == Deal.stage_id))


def ensure_default_pipeline(session: Session) -> int:
    """The default pipeline's id, creating it with the standard stages when there is none."""
    found = session.scalar(sa.select(Pipeline.id).where(Pipeline.is_default))
    if found is not None:
        return found
    pipeline_id = session.execute(
        pg_insert(Pipeline).values(name=DEFAULT_PIPELINE, is_default=True)
        .on_conflict_do_update(index_elements=[Pipeline.name], set_={"is_default": True})
        .returning(Pipeline.id)).scalar_one()
    session.execute(pg_insert(PipelineStage).values([
        {"pipeline_id": pipeline_id, "name": name, "position": position,
         "probability": probability, "forecast_category": category, "is_closed": closed,
         "is_won": won}
        for position, (name, probability, category, closed, won) in enumerate(STAGES, 1)])
        .on_conflict_do_nothing())
    return pipeline_id


def list_pipelines(session: Session, actor: Actor) -> list[dict[str, Any]]:
    permissions.require(actor.principal, "pipelines", "read")
    ensure_default_pipeline(session)
    stages = session.scalars(sa.select(PipelineStage).order_by(PipelineStage.pipeline_id,
                                                               PipelineStage.position)).all()
    return [{"id": p.id, "name": p.name, "is_default": p.is_default,
             "stages": [{k: getattr(s, k) for k in ("id", "name", "position", "probability",
                                                     "forecast_category", "is_closed",
                                                     "is_won")}
                        for s in stages if s.pipeline_id == p.id]}
            for p in session.scalars(sa.select(Pipeline).order_by(Pipeline.id))]


def _stage(session: Session, pipeline_id: int, stage_id: int | None) -> PipelineStage:
    query = sa.select(PipelineStage).where(PipelineStage.pipeline_id == pipeline_id)
    if stage_id is None:
        query = query.where(~PipelineStage.is_closed).order_by(PipelineStage.position)
    else:
        query = query.where(PipelineStage.id == stage_id)
    stage = session.scalars(query.limit(1)).first()
    if stage is None:
        raise InvalidInput(f"Stage {stage_id} is not a stage of pipeline {pipeline_id}."
                           if stage_id else f"Pipeline {pipeline_id} has no open stage.",
                           field="stage_id", code="invalid_stage")
    return stage


def _enter(session: Session, actor: Actor, deal: Deal, stage: PipelineStage) -> None:
    now = session.scalar(sa.select(sa.func.now()))
    session.execute(sa.update(DealStageHistory).where(
        DealStageHistory.deal_id == deal.id, DealStageHistory.exited_at.is_(None))
        .values(exited_at=now))
    session.add(DealStageHistory(deal_id=deal.id, stage_id=stage.id, stage_label=stage.name,
                                 amount=deal.amount, probability=stage.probability,
                                 entered_at=now, changed_by=actor.id))
    _stage_tasks(session, actor, deal, stage, now)


def _stage_tasks(session: Session, actor: Actor, deal: Deal, stage: PipelineStage,
                 now: dt.datetime) -> list[Task]:
    """The stage's task templates become tasks of the deal's owner (each audited, with its
    `task.created` event), due `due_in_days` after entry."""
    templates = session.scalars(sa.select(StageTaskTemplate).where(
        StageTaskTemplate.stage_id == stage.id, StageTaskTemplate.is_active)
        .order_by(StageTaskTemplate.id)).all()
    tasks = [Task(title=t.title, description=t.description, task_type=t.task_type,
                  priority=t.priority, deal_id=deal.id, contact_id=deal.contact_id,
                  assignee_id=deal.owner_id, created_by=actor.id,
                  due_at=None if t.due_in_days is None
                  else now + dt.timedelta(days=t.due_in_days))
             for t in templates]
    session.add_all(tasks)
    session.flush()
    for task in tasks:
        audit.write(session, actor, "tasks", task.id, "create", "task.created", None,
                    audit.snapshot(task), {"deal_id": deal.id, "stage_id": stage.id})
    return tasks


def create_deal(session: Session, actor: Actor, values: dict[str, Any], *,
                pipeline_id: int | None = None, stage_id: int | None = None,
                extra: dict[str, Any] | None = None) -> Deal:
    """A new open deal (default pipeline, first stage unless named), with its history row."""
    if not (values.get("name") or "").strip():
        raise InvalidInput("A deal needs a name.", field="name")
    if pipeline_id is None:
        pipeline_id = ensure_default_pipeline(session)
    elif session.get(Pipeline, pipeline_id) is None:
        raise InvalidInput(f"No pipeline {pipeline_id}.", field="pipeline_id")
    stage = _stage(session, pipeline_id, stage_id)
    if stage.is_closed:
        raise InvalidInput("A new deal starts in an open stage; win or lose it afterwards.",
                           field="stage_id", code="invalid_stage")
    deal = records.create(session, actor, DEALS, values, extra={
        "pipeline_id": pipeline_id, "stage_id": stage.id, "probability": stage.probability,
        "forecast_category": stage.forecast_category, **(extra or {})})
    _enter(session, actor, deal, stage)
    return deal


def move(session: Session, actor: Actor, deal_id: int, stage_id: int, *,
         version: int | None = None, reason: str | None = None) -> Deal:
    """Move a deal to another stage of its pipeline, by the transition rules above."""
    deal = records.load_for_write(session, actor, DEALS, deal_id, version=version)
    if deal.closed_at is not None:
        raise Conflict("The deal is closed; open a new deal instead.", code="deal_closed")
    stage = _stage(session, deal.pipeline_id, stage_id)
    if stage.id == deal.stage_id:
        return deal
    reason = " ".join((reason or "").split())[:MAX_REASON_LENGTH] or None
    if reason and "\x00" in reason:
        raise InvalidInput("reason: NUL characters are not allowed.", field="reason")
    changes: dict[str, Any] = {"stage_id": stage.id, "probability": stage.probability,
                               "forecast_category": stage.forecast_category}
    topic = "deal.stage_changed"
    if stage.is_closed and stage.is_won:
        missing = [f for f in ("amount", "expected_close_date") if getattr(deal, f) is None]
        if missing:
            raise InvalidInput(f"A deal needs {' and '.join(missing)} before Closed Won.",
                               field=missing[0], code="won_needs_amount_and_close_date")
        changes |= {"is_won": True, "closed_at": sa.func.now()}
        topic = "deal.won"
    elif stage.is_closed:
        if not reason:
            raise InvalidInput("Say why the deal was lost (reason).", field="reason",
                               code="reason_required")
        changes |= {"is_won": False, "closed_at": sa.func.now(), "loss_reason": reason}
        topic = "deal.lost"
    records.change(session, actor, DEALS, deal, {}, check=False, extra=changes,
                   action=topic.removeprefix("deal."), topic=topic,
                   payload={"stage_id": stage.id, "stage": stage.name})
    _enter(session, actor, deal, stage)
    if topic == "deal.won":
        _contract(session, actor, deal)
    return deal


def close(session: Session, actor: Actor, deal_id: int, *, won: bool,
          version: int | None = None, reason: str | None = None) -> Deal:
    """Win or lose a deal: move it to its pipeline's won or lost stage."""
    pipeline_id = session.scalar(sa.select(Deal.pipeline_id).where(Deal.id == deal_id))
    stage_id = session.scalar(sa.select(PipelineStage.id).where(
        PipelineStage.pipeline_id == pipeline_id, PipelineStage.is_closed,
        PipelineStage.is_won.is_(won)).order_by(PipelineStage.position).limit(1))
    if pipeline_id is not None and stage_id is None:
        raise Conflict(f"The deal's pipeline has no {'won' if won else 'lost'} stage.",
                       code="no_closed_stage")
    return move(session, actor, deal_id, stage_id or 0, version=version, reason=reason)


def _contract(session: Session, actor: Actor, deal: Deal) -> Contract:
    contract = Contract(deal_id=deal.id, account_id=deal.account_id, value=deal.amount,
                        currency=deal.currency, start_date=deal.expected_close_date)
    session.add(contract)
    session.flush()
    audit.write(session, actor, "contracts", contract.id, "create", "contract.created", None,
                audit.snapshot(contract), {"deal_id": deal.id})
    return contract


def stage_history(session: Session, actor: Actor, deal_id: int) -> list[dict[str, Any]]:
    records.get(session, actor, DEALS, deal_id)  # visible?
    rows = session.scalars(sa.select(DealStageHistory).where(
        DealStageHistory.deal_id == deal_id).order_by(DealStageHistory.entered_at,
                                                      DealStageHistory.id)).all()
    hidden = "amount" in permissions.hidden_fields(actor.role, "deals")
    return [{"stage_id": r.stage_id, "stage": r.stage_label, "probability": r.probability,
             "amount": None if hidden else r.amount, "entered_at": r.entered_at,
             "exited_at": r.exited_at, "changed_by": r.changed_by} for r in rows]
