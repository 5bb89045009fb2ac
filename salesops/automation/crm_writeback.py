"""Reverse ETL: lead scores, next best actions and qualification status written back to
the CRM's contacts, field by field, with conflict rules and a sync log.

Which record: a lead's contact linked to a HubSpot contact (`app.contact_sources`,
source `hubspot.contact`; the survivor's id when HubSpot merged records), the newest lead
per contact. Which values (`FIELDS`): the lead's latest score (`ml.lead_scores`), its best
next action (`ml.next_best_actions`, rank 1 of the latest scoring) and its status, each
with the time it changed here (scored_at, the lead's updated_at).

Per field, a rule (`CrmSyncSettings.rules`): `salesops` (our value is pushed whenever it
differs), `crm` (the CRM's value is kept) or `latest` (the later change wins: ours by the
times above, the CRM's by the property's history, else the object's last modification).
Equal values are left alone and not logged; every other decision is one row of
`ops.crm_sync_log` (run, object, field, direction, decision, rule, both values and times),
and the run one row of `app.integration_sync_runs` (kind crm, direction push).

When the CRM's value wins (`kept_crm`, direction `from_crm`), what happens here depends on
the field:

- `qualification_status`: the CRM's status is applied to our lead through the domain
  service (`leads.set_status`: qualify, disqualify with the reason "set in HubSpot", or
  an open status), audited as the integration user `CrmSyncSettings.actor_email` (made on
  first use) with request id `crm-sync:<run>`, with its outbox event, so both sides agree.
  A status the domain refuses (the lead is converted or disqualified here, `converted`
  set in HubSpot, a value that is no status) is logged `failed` with the reason, and
  looked at again by the next run; an empty CRM value is left alone.
- `lead_score`, `next_best_action`: ours are model outputs (`ml` rows of a model
  version), so nothing changes here; the CRM keeps its value and the log says so.

Incremental by default: only leads whose values changed here since the last finished run
started, and those that failed then; `full=True` compares every linked lead. The sync is
state-based, so a run that dies half-way is simply caught up by the next one: what was
pushed compares equal, what was not is pushed then (a run left `running` is closed as
failed). The CRM client is any object with the two batch methods of
`connectors.hubspot_api.HubSpotClient`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

import sqlalchemy as sa
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from salesops.domain import leads
from salesops.domain.audit import Actor
from salesops.domain.users import create_user, get_principal
from salesops.errors import SalesopsError
from salesops.models import CrmIntegration, CrmSyncLog, IntegrationSyncRun, Lead, User

INTEGRATION_NAME = "hubspot-writeback"
OBJECT_TYPE = "contacts"
Rule = Literal["salesops", "crm", "latest"]
#: Our value name -> the CRM property it is written to (custom contact properties).
FIELDS = {"lead_score": "salesops_lead_score",
          "next_best_action": "salesops_next_best_action",
          "qualification_status": "salesops_qualification_status"}
_RULE_NAMES = {"salesops": "salesops_owns", "crm": "crm_owns", "latest": "later_change"}
STATUS_PROPERTY = FIELDS["qualification_status"]
APPLIED_REASON = "set in HubSpot"


class CrmSyncSettings(BaseSettings):
    """SALESOPS_CRM_SYNC_* from the environment or `.env`; `RULES` as JSON, e.g.
    `{"qualification_status": "crm"}` (fields left out keep their default)."""

    model_config = SettingsConfigDict(env_prefix="SALESOPS_CRM_SYNC_", env_file=".env",
                                      extra="ignore")

    rules: dict[str, Rule] = Field(default_factory=dict, description="per field: salesops, "
                                   "crm or latest (the later change wins)")
    actor_email: str = Field("hubspot-sync@salesops.local", description="the integration "
                             "user a status set in the CRM is applied to our leads as "
                             "(created, without a password, when missing)")

    def rule(self, name: str) -> Rule:
        defaults: dict[str, Rule] = {"lead_score": "salesops", "next_best_action": "salesops",
                                     "qualification_status": "latest"}
        return self.rules.get(name, defaults[name])

    def check(self) -> None:
        unknown = sorted(set(self.rules) - set(FIELDS))
        if unknown:
            raise CrmSyncError(f"unknown field(s) in SALESOPS_CRM_SYNC_RULES: "
                               f"{', '.join(unknown)}; use {', '.join(FIELDS)}")


class CrmSyncError(SalesopsError):
    """The write-back cannot start; the message says what to fix."""


class CrmClient(Protocol):
    def read_properties(self, object_type: str, ids: list[str], properties: list[str]
                        ) -> dict[str, dict[str, tuple[str | None, int | None]]]: ...

    def update_properties(self, object_type: str, changes: dict[str, dict[str, str | None]]
                          ) -> dict[str, str]: ...


@dataclass(frozen=True)
class Local:
    """One lead's values and when each changed here."""

    lead_id: int
    object_id: str
    values: dict[str, tuple[str | None, datetime | None]]


@dataclass
class SyncReport:
    run_id: int
    actor_id: int = 0  # the integration user CRM statuses are applied as
    compared: int = 0
    pushed: int = 0
    kept_crm: int = 0
    applied: int = 0  # of kept_crm: CRM statuses applied to our leads
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "failed" if self.failed and not (self.pushed or self.applied) else \
            "partial" if self.failed else "succeeded"


_LOCAL = """
    with linked as (
        select distinct on (l.contact_id) l.id as lead_id, l.status, l.updated_at,
               s.source_key as object_id
        from app.leads l
        join lateral (select source_key from app.contact_sources s
                      where s.contact_id = l.contact_id and s.source = 'hubspot.contact'
                      order by s.match_rule = 'hubspot_merge', s.id limit 1) s on true
        where l.deleted_at is null
        order by l.contact_id, l.updated_at desc, l.id desc)
    select k.lead_id, k.object_id, k.status, k.updated_at, sc.score, sc.scored_at as score_at,
           a.action, a.scored_at as action_at
    from linked k
    left join lateral (select score, scored_at from ml.lead_scores x
                       where x.lead_id = k.lead_id order by scored_at desc, id desc limit 1
                       ) sc on true
    left join lateral (select action, scored_at from ml.next_best_actions x
                       where x.lead_id = k.lead_id
                       order by scored_at desc, rank nulls last, id limit 1) a on true
    where cast(:since as timestamptz) is null
       or greatest(k.updated_at, sc.scored_at, a.scored_at) >= cast(:since as timestamptz)
       or k.lead_id = any(cast(:retry as bigint[]))
    order by k.lead_id
"""


def local_values(conn: sa.Connection, since: datetime | None = None,
                 retry: list[int] | None = None) -> Iterator[Local]:
    """Every linked lead's values (only those changed since `since`, or in `retry`)."""
    rows = conn.execute(sa.text(_LOCAL), {"since": since, "retry": retry or []})
    for r in rows:
        yield Local(r.lead_id, r.object_id, {
            "lead_score": (None if r.score is None else str(r.score), r.score_at),
            "next_best_action": (r.action, r.action_at),
            "qualification_status": (r.status, r.updated_at)})


def decide(rule: Rule, local: tuple[str | None, datetime | None],
           crm: tuple[str | None, int | None]) -> str | None:
    """`pushed` or `kept_crm` for a field whose values differ (None when equal, or when
    there is nothing of ours to write)."""
    (ours, ours_at), (theirs, theirs_ms) = local, crm
    if ours is None or ours == (theirs or None):
        return None
    if rule == "salesops" or (rule == "latest" and (
            theirs is None or theirs_ms is None or ours_at is None
            or ours_at.timestamp() * 1000 >= theirs_ms)):
        return "pushed"
    return "kept_crm"


def _start(conn: sa.Connection) -> tuple[int, int]:
    """(integration id, run id); a run left running by a dead worker is closed as failed."""
    integration_id = conn.execute(insert(CrmIntegration).values(
        name=INTEGRATION_NAME, provider="hubspot", status="running")
        .on_conflict_do_update(index_elements=["name"], set_={"status": "running",
                                                                "updated_at": sa.func.now()})
        .returning(CrmIntegration.id)).scalar_one()
    runs = IntegrationSyncRun.__table__
    conn.execute(runs.update().where(
        runs.c.kind == "crm", runs.c.integration_id == integration_id,
        runs.c.direction == "push", runs.c.status == "running").values(
        status="failed", finished_at=sa.func.now(),
        errors=sa.func.jsonb_build_array("the worker stopped before the run finished")))
    run_id = conn.execute(runs.insert().values(
        kind="crm", integration_id=integration_id, direction="push", status="running")
        .returning(runs.c.id)).scalar_one()
    return integration_id, run_id


def _since(conn: sa.Connection, integration_id: int) -> tuple[datetime | None, list[int]]:
    """Where an incremental run starts: the last finished run's start, and its failures."""
    runs = IntegrationSyncRun.__table__
    last = conn.execute(sa.select(runs.c.id, runs.c.started_at).where(
        runs.c.kind == "crm", runs.c.integration_id == integration_id,
        runs.c.direction == "push", runs.c.status.in_(("succeeded", "partial")))
        .order_by(runs.c.id.desc()).limit(1)).first()
    if last is None:
        return None, []
    failed = conn.scalars(sa.select(CrmSyncLog.lead_id).distinct().where(
        CrmSyncLog.run_id == last.id, CrmSyncLog.decision == "failed",
        CrmSyncLog.lead_id.is_not(None)))
    return last.started_at, list(failed)


def _ts(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def write_back(engine: sa.Engine, client: CrmClient, settings: CrmSyncSettings | None = None,
               *, full: bool = False, batch_size: int = 500) -> SyncReport:
    """One write-back run (see the module docstring)."""
    settings = settings or CrmSyncSettings()
    settings.check()
    with Session(engine) as session, session.begin():
        actor_id = _crm_user(session, settings.actor_email)
        integration_id, run_id = _start(session.connection())
        since, retry = (None, []) if full else _since(session.connection(), integration_id)
    report = SyncReport(run_id, actor_id)
    properties = list(FIELDS.values())
    try:
        with engine.connect() as conn:
            leads = local_values(conn, since, retry)
            while batch := [lead for _, lead in zip(range(batch_size), leads, strict=False)]:
                _sync_batch(engine, client, settings, report, batch, properties)
    except SalesopsError as exc:
        report.errors.append(str(exc))
        report.failed += 1
        _finish(engine, integration_id, report, "failed")
        raise
    _finish(engine, integration_id, report, report.status)
    return report


def _sync_batch(engine: sa.Engine, client: CrmClient, settings: CrmSyncSettings,
                report: SyncReport, batch: list[Local], properties: list[str]) -> None:
    crm = client.read_properties(OBJECT_TYPE, [lead.object_id for lead in batch], properties)
    rows: list[dict] = []
    changes: dict[str, dict[str, str | None]] = {}
    for lead in batch:
        report.compared += 1
        theirs = crm.get(lead.object_id)
        if theirs is None:
            rows.append(_row(report.run_id, lead, "*", "to_crm", "failed", "salesops_owns",
                             (None, None), (None, None),
                             "the CRM has no such contact (deleted or merged away)"))
            continue
        for name, prop in FIELDS.items():
            rule = settings.rule(name)
            decision = decide(rule, lead.values[name], theirs[prop])
            if decision is None:
                continue
            if decision == "pushed":
                changes.setdefault(lead.object_id, {})[prop] = lead.values[name][0]
            rows.append(_row(report.run_id, lead, prop,
                             "to_crm" if decision == "pushed" else "from_crm", decision,
                             _RULE_NAMES[rule], lead.values[name], theirs[prop]))
    for row in rows:
        if row["decision"] == "kept_crm" and row["field"] == STATUS_PROPERTY \
                and row["crm_value"]:
            error = _apply_status(engine, report, row)
            if error:
                row.update(decision="failed", error=error)
                report.errors.append(f"lead {row['lead_id']}: {error}")
            else:
                report.applied += 1
    refused: dict[str, str] = {}
    if changes:
        try:
            refused = client.update_properties(OBJECT_TYPE, changes)
        except SalesopsError as exc:  # the whole batch: logged as failed, retried next run
            refused = dict.fromkeys(changes, str(exc))
            report.errors.append(str(exc))
    for row in rows:
        if row["decision"] == "pushed" and row["object_id"] in refused:
            row.update(decision="failed", error=refused[row["object_id"]])
        setattr(report, row["decision"], getattr(report, row["decision"]) + 1)
    report.errors.extend(f"contact {i}: {m}" for i, m in list(refused.items())[:5])
    if rows:
        with engine.begin() as conn:
            conn.execute(sa.insert(CrmSyncLog), rows)


def _crm_user(session: Session, email: str) -> int:
    """The integration user CRM statuses are applied as, made on first use."""
    user_id = session.scalar(sa.select(User.id).where(User.email == email))
    if user_id is None:
        user_id = create_user(session, email, "HubSpot sync", None, "integration").id
    return user_id


def _apply_status(engine: sa.Engine, report: SyncReport, row: dict) -> str | None:
    """Give our lead the CRM's status (one transaction); why not, when the domain refuses
    or the lead changed here since it was read (the next run decides again)."""
    try:
        with Session(engine) as session, session.begin():
            actor = Actor(get_principal(session, report.actor_id),
                          request_id=f"crm-sync:{report.run_id}")
            current = session.scalar(sa.select(Lead.status).where(
                Lead.id == row["lead_id"]).with_for_update())
            if current != row["local_value"]:
                return f"the lead changed here during the run (now {current})"
            leads.set_status(session, actor, row["lead_id"], row["crm_value"], APPLIED_REASON)
    except SalesopsError as exc:
        return f"HubSpot's status {row['crm_value']!r} is not applied: {exc}"
    return None


def _row(run_id: int, lead: Local, prop: str, direction: str, decision: str, rule: str,
         ours: tuple[str | None, datetime | None], theirs: tuple[str | None, int | None],
         error: str | None = None) -> dict:
    return {"run_id": run_id, "object_type": OBJECT_TYPE, "object_id": lead.object_id,
            "lead_id": lead.lead_id, "field": prop, "direction": direction,
            "decision": decision, "rule": rule, "local_value": ours[0],
            "local_changed_at": ours[1], "crm_value": theirs[0],
            "crm_changed_at": _ts(theirs[1]), "error": error}


def _finish(engine: sa.Engine, integration_id: int, report: SyncReport, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(IntegrationSyncRun).where(IntegrationSyncRun.id == report.run_id)
                     .values(status=status, finished_at=sa.func.now(),
                             records_in=report.compared, records_out=report.pushed,
                             errors=report.errors[:20]))
        conn.execute(sa.update(CrmIntegration).where(CrmIntegration.id == integration_id)
                     .values(status=status, last_synced_at=sa.func.now(),
                             updated_at=sa.func.now()))
