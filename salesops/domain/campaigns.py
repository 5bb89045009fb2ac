"""Campaigns, their templates and saved audience segments: the rules of planning one.
Delivery itself runs in Dagster (`salesops.automation.campaigns`).

A campaign is planned as a draft (template, audience: a saved segment copied in, or a
segment definition), then:

    draft --submit--> approval requested --approve--> approved --schedule--> scheduled
            (reject: back to a plain draft, with the reason)        (cancel: cancelled)

Approval is four-eyes: an approver (`permissions.CAMPAIGN_APPROVERS`) who is not the
campaign's owner. Any change to an approved or requested draft withdraws the approval,
and only drafts change. Scheduling needs the approval and a template that renders
(sandboxed Jinja, checked against a sample recipient); a template or segment is checked
the same way whenever it is saved. Everything is audited with its event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from salesops.automation.campaigns import SAMPLE_RECIPIENT, campaign_template
from salesops.automation.segments import audience_query, compile_segment
from salesops.automation.templates import check_template, compile_template
from salesops.domain import records
from salesops.domain.audit import Actor
from salesops.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    PermissionDenied,
    StaleVersion,
)
from salesops.domain.records import Filter, Resource, columns, names
from salesops.models import Campaign, CommunicationTemplate, Segment
from salesops.security import permissions

TEMPLATES = Resource(
    name="templates", entity="template", model=CommunicationTemplate,
    fields=columns(CommunicationTemplate, "id name channel subject body owner_id created_at "
                   "updated_at deleted_at version"),
    writable=names("name channel subject body owner_id"),
    sorts=("id", "name", "created_at", "updated_at"),
    filters={"owner_id": Filter(CommunicationTemplate.owner_id, int, user=True),
             "channel": Filter(CommunicationTemplate.channel)})

SEGMENTS = Resource(
    name="segments", entity="segment", model=Segment,
    fields=columns(Segment, "id name description definition owner_id created_at updated_at "
                   "deleted_at version"),
    writable=names("name description definition owner_id"),
    sorts=("id", "name", "created_at", "updated_at"),
    filters={"owner_id": Filter(Segment.owner_id, int, user=True)})

APPROVAL = sa.case((Campaign.approved_at.is_not(None), "approved"),
                   (Campaign.approval_requested_at.is_not(None), "requested"),
                   else_="none")

CAMPAIGNS = Resource(
    name="campaigns", entity="campaign", model=Campaign,
    fields={**columns(Campaign, "id name channel campaign_type status start_date end_date "
                      "budget actual_cost owner_id template_id audience scheduled_at "
                      "approval_requested_at approved_by approved_at created_at updated_at "
                      "deleted_at version"), "approval": APPROVAL},
    writable=names("name channel campaign_type start_date end_date budget owner_id "
                   "template_id audience"),
    sorts=("id", "name", "start_date", "scheduled_at", "created_at", "updated_at"),
    filters={"owner_id": Filter(Campaign.owner_id, int, user=True),
             "status": Filter(Campaign.status), "channel": Filter(Campaign.channel)},
    references={"template_id": TEMPLATES})

_NO_APPROVAL = {"approval_requested_at": None, "approved_by": None, "approved_at": None}


# ------------------------------------------------------------------ templates and segments

def _check_template(values: dict[str, Any], current: CommunicationTemplate | None = None
                    ) -> None:
    subject = values.get("subject", current.subject if current else None)
    body = values.get("body", current.body if current else None)
    if not body:
        raise InvalidInput("A template needs a body.", field="body")
    try:
        check_template(compile_template(subject, body), SAMPLE_RECIPIENT)
    except DomainError:
        raise
    except Exception as exc:  # e.g. {{ 1 / 0 }}: the author's mistake, not a server error
        raise InvalidInput(f"the template cannot be rendered: {type(exc).__name__}: {exc}",
                           field="body", code="invalid_template") from None


def create_template(session: Session, actor: Actor, values: dict[str, Any]) -> Any:
    _check_template(values)
    return records.create(session, actor, TEMPLATES, values)


def update_template(session: Session, actor: Actor, template_id: int, values: dict[str, Any],
                    version: int | None) -> Any:
    obj = records.load_for_write(session, actor, TEMPLATES, template_id,
                                 version=records.require_version(version))
    if {"subject", "body"} & set(values):
        _check_template(values, obj)
    return records.change(session, actor, TEMPLATES, obj, values)


def _check_segment(values: dict[str, Any]) -> None:
    if "definition" in values:
        compile_segment(values["definition"])


def create_segment(session: Session, actor: Actor, values: dict[str, Any]) -> Any:
    _check_segment(values)
    return records.create(session, actor, SEGMENTS, values)


def update_segment(session: Session, actor: Actor, segment_id: int, values: dict[str, Any],
                   version: int | None) -> Any:
    _check_segment(values)
    return records.update(session, actor, SEGMENTS, segment_id, values, version)


def segment_size(session: Session, actor: Actor, segment_id: int) -> int:
    """How many contacts the segment selects now (before consent is applied at send)."""
    segment = records.get(session, actor, SEGMENTS, segment_id)
    query = audience_query(segment["definition"]).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(query))


# ------------------------------------------------------------------ campaigns

def _audience(session: Session, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """The values with a saved segment copied into `audience` (checked either way)."""
    values = dict(values)
    if (segment_id := values.pop("segment_id", None)) is not None:
        if "audience" in values:
            raise InvalidInput("Send segment_id or audience, not both.", field="segment_id")
        values["audience"] = records.get(session, actor, SEGMENTS, segment_id)["definition"]
    if "audience" in values:
        values["audience"] = values["audience"] or {}
        compile_segment(values["audience"])
    return values


def create_campaign(session: Session, actor: Actor, values: dict[str, Any]) -> Any:
    return records.create(session, actor, CAMPAIGNS, _audience(session, actor, values))


def _draft(session: Session, actor: Actor, campaign_id: int, version: int | None,
           action: permissions.Action = "update") -> Campaign:
    campaign = records.load_for_write(session, actor, CAMPAIGNS, campaign_id, action=action,
                                      version=version)
    if campaign.status != "draft":
        raise Conflict(f"The campaign is {campaign.status}; only a draft can change.",
                       code="campaign_not_draft")
    return campaign


def update_campaign(session: Session, actor: Actor, campaign_id: int, values: dict[str, Any],
                    version: int | None) -> Any:
    """Change a draft; an approval given or asked for is withdrawn."""
    campaign = _draft(session, actor, campaign_id, records.require_version(version))
    values = _audience(session, actor, values)
    return records.change(session, actor, CAMPAIGNS, campaign, values, extra=_NO_APPROVAL)


def submit(session: Session, actor: Actor, campaign_id: int, version: int | None) -> Any:
    campaign = _draft(session, actor, campaign_id, version)
    if campaign.approval_requested_at is not None:
        raise Conflict("Approval was already asked for.", code="approval_already_requested")
    campaign_template(session, campaign)  # nothing to approve without a working template
    return records.change(session, actor, CAMPAIGNS, campaign,
                          {"approval_requested_at": sa.func.now()}, action="submit",
                          topic="campaign.submitted", check=False)


def _approvable(session: Session, actor: Actor, campaign_id: int, version: int | None
                ) -> Campaign:
    if actor.role not in permissions.CAMPAIGN_APPROVERS:
        raise PermissionDenied(f"Your role ({actor.role}) may not approve campaigns.")
    campaign = records.get(session, actor, CAMPAIGNS, campaign_id)  # NotFound if unseen
    if campaign["owner_id"] == actor.id:
        raise PermissionDenied("Someone other than the campaign's owner must approve it.",
                               code="own_campaign")
    obj = session.scalar(sa.select(Campaign).where(Campaign.id == campaign_id)
                         .with_for_update().execution_options(populate_existing=True))
    if version is not None and obj.version != version:
        raise StaleVersion(f"The campaign is at version {obj.version}, not {version}: "
                           "someone else changed it. Reload it and try again.",
                           details={"current_version": obj.version})
    if obj.status != "draft" or obj.approval_requested_at is None or obj.approved_at:
        raise Conflict("Only a draft waiting for approval can be approved or rejected.",
                       code="not_awaiting_approval")
    return obj


def approve(session: Session, actor: Actor, campaign_id: int, version: int | None) -> Any:
    campaign = _approvable(session, actor, campaign_id, version)
    return records.change(session, actor, CAMPAIGNS, campaign,
                          {"approved_by": actor.id, "approved_at": sa.func.now()},
                          action="approve", topic="campaign.approved", check=False)


def reject(session: Session, actor: Actor, campaign_id: int, reason: str,
           version: int | None) -> Any:
    campaign = _approvable(session, actor, campaign_id, version)
    return records.change(session, actor, CAMPAIGNS, campaign, _NO_APPROVAL,
                          action="reject", topic="campaign.rejected", check=False,
                          payload={"reason": reason})


def schedule(session: Session, actor: Actor, campaign_id: int, at: dt.datetime | None,
             version: int | None) -> Any:
    """Send at `at` (now when not given); Dagster's campaign sensor takes it from there."""
    campaign = _draft(session, actor, campaign_id, version)
    if campaign.approved_at is None:
        raise Conflict("The campaign must be approved before it is scheduled.",
                       code="not_approved")
    now = dt.datetime.now(dt.UTC)
    if at is not None and (at.tzinfo is None or at < now - dt.timedelta(minutes=5)):
        raise InvalidInput("scheduled_at must be a time with its zone, not in the past.",
                           field="scheduled_at")
    campaign_template(session, campaign)
    return records.change(session, actor, CAMPAIGNS, campaign,
                          {"status": "scheduled", "scheduled_at": at or now},
                          action="schedule", topic="campaign.scheduled", check=False)


def cancel(session: Session, actor: Actor, campaign_id: int, version: int | None) -> Any:
    campaign = records.load_for_write(session, actor, CAMPAIGNS, campaign_id, version=version)
    if campaign.status in ("completed", "cancelled"):
        raise Conflict(f"The campaign is already {campaign.status}.",
                       code="campaign_finished")
    return records.change(session, actor, CAMPAIGNS, campaign, {"status": "cancelled"},
                          action="cancel", topic="campaign.cancelled", check=False)
