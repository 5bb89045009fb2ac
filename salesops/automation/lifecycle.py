"""Data lifecycle: retention policies per entity, run as set-based SQL, every step recorded.

Policies (`lifecycle.yaml` next to this module; `SALESOPS_LIFECYCLE_POLICIES` names
another file) give each entity of `ENTITIES` up to three rules, in days:

- `archive_after_days`: rows older than this (by the entity's age column) move to
  `archive.<schema>__<table>` (made on first use, shaped like the source plus
  `archived_at` and `lifecycle_action_id`), keeping their ids and foreign keys; rows of
  other tables that reference them and would be deleted with them (ON DELETE CASCADE,
  e.g. an interaction's sentiment scores) move along into their own archive tables;
- `delete_after_days`: short-lived rows (processed events, read notifications, sent
  user emails, login attempts) are deleted;
- `purge_trash_after_days`: soft-deleted rows (in the trash, restorable until then) are
  hard-deleted, with the database's cascades; a row another record still needs (a
  RESTRICT foreign key, e.g. a deal with a contract) stays, and the step says why.
  Purging attachments, directly or with the contact, account or deal they hang on,
  also removes their stored files (under the settings' `attachments_path`), once the
  step's transaction has committed; a file already missing is not an error. The step
  counts them as the dependent `files`.

Each step is one transaction: the rows moved or deleted, an `ops.lifecycle_actions` row
(entity, rule, cutoff, ids, blocked rows with reasons, dependents moved or removed) and an
`app.audit_logs` entry (`lifecycle.<action>`). `report` reads them back, with the GDPR
erasures of the audit log, for `salesops lifecycle report`. A GDPR erase also reaches the
archive (`erase_archived`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from salesops.domain import attachments
from salesops.errors import SalesopsError
from salesops.models import AuditLog, LifecycleAction
from salesops.settings import get_settings

DEFAULT_POLICIES = Path(__file__).with_name("lifecycle.yaml")
ARCHIVE_SCHEMA = "archive"
#: Entities whose purge deletes attachment rows (itself, or by cascade): the column of
#: app.attachments that points at the purged rows.
_ATTACHMENT_PARENTS = {"attachments": "id", "contacts": "contact_id",
                       "accounts": "account_id", "deals": "deal_id"}
FILES = "files"  # the dependent a purge's removed attachment files are counted as


class LifecycleError(SalesopsError):
    """A policy file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Entity:
    table: str  # schema.table
    age_column: str  # what "older than" is measured by
    eligible: str = "true"  # rows a rule may touch at all
    dependents: tuple[tuple[str, str], ...] = ()  # (table, column) archived along
    has_trash: bool = False

    @property
    def archive_table(self) -> str:
        return archive_name(self.table)


ENTITIES: dict[str, Entity] = {
    "interactions": Entity("app.interactions", "occurred_at",
                           dependents=(("ml.sentiment_analysis", "interaction_id"),),
                           has_trash=True),
    "campaign_deliveries": Entity("app.campaign_deliveries", "created_at",
                                  "status not in ('queued', 'sending')"),
    "events": Entity("app.events", "created_at", "processed_at is not null"),
    "notifications": Entity("app.notifications", "created_at", "read_at is not null"),
    "outbound_emails": Entity("app.outbound_emails", "created_at", "status = 'sent'"),
    "login_attempts": Entity("app.login_attempts", "attempted_at"),
    **{name: Entity(f"app.{table}", "deleted_at", has_trash=True) for name, table in (
        ("contacts", "contacts"), ("accounts", "accounts"), ("leads", "leads"),
        ("deals", "sales_pipeline"), ("tasks", "tasks"), ("notes", "notes"),
        ("attachments", "attachments"), ("contracts", "contracts"),
        ("campaigns", "marketing_campaigns"), ("templates", "communication_templates"))},
}


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    archive_after_days: int | None = Field(None, ge=1)
    delete_after_days: int | None = Field(None, ge=1)
    purge_trash_after_days: int | None = Field(None, ge=1)


def archive_name(table: str) -> str:
    schema, name = table.split(".")
    return f"{ARCHIVE_SCHEMA}.{schema}__{name}"


def load_policies(path: Path | None = None) -> dict[str, Policy]:
    """The policies per entity, checked against what each entity allows."""
    path = path or Path(os.environ.get("SALESOPS_LIFECYCLE_POLICIES") or DEFAULT_POLICIES)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise LifecycleError(f"cannot read the lifecycle policies {path}: {exc.strerror}; "
                             "set SALESOPS_LIFECYCLE_POLICIES to a YAML file") from None
    except yaml.YAMLError as exc:
        raise LifecycleError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise LifecycleError(f"{path}: expected a mapping of entity -> rules")
    policies = {}
    for name, rules in raw.items():
        entity = ENTITIES.get(name)
        if entity is None:
            raise LifecycleError(f"{path}: unknown entity {name!r}; one of "
                                 f"{', '.join(sorted(ENTITIES))}")
        try:
            policy = Policy.model_validate(rules or {})
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                for e in exc.errors())
            raise LifecycleError(f"{path}: {name}: {problem}") from None
        if policy.purge_trash_after_days and not entity.has_trash:
            raise LifecycleError(f"{path}: {name} has no trash (no soft delete): drop "
                                 "purge_trash_after_days")
        if entity.age_column == "deleted_at" and (policy.archive_after_days
                                                   or policy.delete_after_days):
            raise LifecycleError(f"{path}: {name} is only purged from the trash: use "
                                 "purge_trash_after_days")
        policies[name] = policy
    return policies


@dataclass
class StepResult:
    action: str
    entity: str
    policy: str
    rows: int
    blocked: list[dict[str, Any]] = field(default_factory=list)
    dependents: dict[str, int] = field(default_factory=dict)


def _columns(conn: sa.Connection, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return [tuple(r) for r in conn.execute(sa.text(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "where a.attrelid = cast(:t as regclass) and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum"), {"t": f'"{schema}"."{name}"'})]


def _ensure_archive(conn: sa.Connection, table: str) -> list[str]:
    """The archive table of `table` (created, or given the source's new columns); the
    source's column names."""
    target = archive_name(table)
    conn.execute(sa.text(f"create table if not exists {target} "
                         f"(archived_at timestamptz not null default now(), "
                         f"lifecycle_action_id bigint not null)"))
    have = {name for name, _ in _columns(conn, target)}
    columns = _columns(conn, table)
    for name, type_ in columns:
        if name not in have:
            conn.execute(sa.text(f'alter table {target} add column "{name}" {type_}'))
    if "id" in {n for n, _ in columns}:
        index = target.split(".")[1] + "_id"
        conn.execute(sa.text(f"create index if not exists {index} on {target} (id)"))
    return [name for name, _ in columns]


def _start(conn: sa.Connection, action: str, entity: str, table: str, policy: str,
           cutoff: datetime, archive_table: str | None = None) -> int:
    return conn.execute(sa.insert(LifecycleAction).values(
        action=action, entity=entity, source_table=table, archive_table=archive_table,
        policy=policy, cutoff=cutoff).returning(LifecycleAction.id)).scalar_one()


def _finish(conn: sa.Connection, action_id: int, result: StepResult, ids: list) -> None:
    conn.execute(sa.update(LifecycleAction).where(LifecycleAction.id == action_id).values(
        rows=result.rows, ids=ids, blocked=result.blocked, dependents=result.dependents))
    conn.execute(sa.insert(AuditLog).values(
        user_id=None, action=f"lifecycle.{result.action}", entity=result.entity,
        entity_id=None, request_id=f"lifecycle:{action_id}",
        after={"rows": result.rows, "policy": result.policy, "lifecycle_action_id": action_id,
               "blocked": len(result.blocked), "dependents": result.dependents}))


def _key(entity: Entity) -> str:
    return "key" if entity.table == "app.outbound_emails" else "id"


def archive(engine: sa.Engine, name: str, days: int, now: datetime) -> StepResult:
    entity = ENTITIES[name]
    cutoff = now - timedelta(days=days)
    policy = f"archive_after_days={days}"
    old = f"{entity.age_column} < :cutoff and ({entity.eligible})"
    result = StepResult("archive", name, policy, 0)
    with engine.begin() as conn:
        action_id = _start(conn, "archive", name, entity.table, policy, cutoff,
                           entity.archive_table)
        for table, column in entity.dependents:  # before the cascade deletes them
            cols = ", ".join(f'"{c}"' for c in _ensure_archive(conn, table))
            moved = conn.execute(sa.text(
                f"insert into {archive_name(table)} ({cols}, lifecycle_action_id) "
                f"select {cols}, :action from {table} where {column} in "
                f"(select id from {entity.table} where {old})"),
                {"cutoff": cutoff, "action": action_id}).rowcount
            if moved:
                result.dependents[table] = moved
        cols = ", ".join(f'"{c}"' for c in _ensure_archive(conn, entity.table))
        ids = conn.execute(sa.text(
            f"with moved as (delete from {entity.table} where {old} returning *) "
            f"insert into {entity.archive_table} ({cols}, lifecycle_action_id) "
            f"select {cols}, :action from moved returning {_key(entity)}"),
            {"cutoff": cutoff, "action": action_id}).scalars().all()
        result.rows = len(ids)
        _finish(conn, action_id, result, sorted(ids))
    return result


def delete(engine: sa.Engine, name: str, days: int, now: datetime) -> StepResult:
    entity = ENTITIES[name]
    cutoff = now - timedelta(days=days)
    policy = f"delete_after_days={days}"
    result = StepResult("delete", name, policy, 0)
    with engine.begin() as conn:
        action_id = _start(conn, "delete", name, entity.table, policy, cutoff)
        ids = conn.execute(sa.text(
            f"delete from {entity.table} where {entity.age_column} < :cutoff "
            f"and ({entity.eligible}) returning {_key(entity)}"), {"cutoff": cutoff}
        ).scalars().all()
        result.rows = len(ids)
        _finish(conn, action_id, result, sorted(ids))
    return result


def purge(engine: sa.Engine, name: str, days: int, now: datetime,
          attachments_root: Path | None = None) -> StepResult:
    """Hard-delete trashed rows; all at once, else one by one to find those still needed.
    The files of the attachment rows that went are removed after the commit."""
    entity = ENTITIES[name]
    cutoff = now - timedelta(days=days)
    policy = f"purge_trash_after_days={days}"
    result = StepResult("purge", name, policy, 0)
    gone: list[str] = []
    with engine.begin() as conn:
        action_id = _start(conn, "purge", name, entity.table, policy, cutoff)
        candidates = conn.execute(sa.text(
            f"select id from {entity.table} where deleted_at < :cutoff order by id"),
            {"cutoff": cutoff}).scalars().all()
        files = _attachment_files(conn, name, candidates)
        deleted: list[int] = []
        try:
            with conn.begin_nested():
                deleted = conn.execute(sa.text(
                    f"delete from {entity.table} where id = any(cast(:ids as bigint[])) "
                    "returning id"),
                    {"ids": candidates}).scalars().all()
        except sa.exc.IntegrityError:
            for row_id in candidates:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.text(f"delete from {entity.table} where id = :id"),
                                     {"id": row_id})
                    deleted.append(row_id)
                except sa.exc.IntegrityError as exc:
                    detail = getattr(exc.orig, "diag", None)
                    reason = (detail.message_detail or detail.message_primary) if detail \
                        else str(exc.orig)
                    result.blocked.append({"id": row_id, "reason": reason})
        if files:  # those whose rows went (a blocked parent keeps its attachments)
            kept = set(conn.execute(sa.text(
                "select stored_name from app.attachments "
                "where stored_name = any(cast(:names as text[]))"), {"names": files}).scalars())
            gone = [f for f in files if f not in kept]
            if gone:
                result.dependents[FILES] = len(gone)
        result.rows = len(deleted)
        _finish(conn, action_id, result, sorted(deleted))
    attachments.remove_files(attachments_root or get_settings().attachments_path, gone)
    return result


def _attachment_files(conn: sa.Connection, name: str, ids: list[int]) -> list[str]:
    """The stored names of the attachments that purging these rows of `name` deletes."""
    column = _ATTACHMENT_PARENTS.get(name)
    if column is None or not ids:
        return []
    return list(conn.execute(sa.text(
        f"select stored_name from app.attachments where {column} = any(cast(:ids as bigint[]))"),
        {"ids": ids}).scalars())


def run(engine: sa.Engine, policies: dict[str, Policy] | None = None, *,
        now: datetime | None = None, attachments_root: Path | None = None
        ) -> list[StepResult]:
    """Every policy's steps (archive, then delete, then purge), one transaction each;
    `attachments_root`: where attachment files are stored (default: the settings')."""
    policies = load_policies() if policies is None else policies
    now = now or datetime.now(UTC)
    results = []
    for name, policy in policies.items():
        if policy.archive_after_days:
            results.append(archive(engine, name, policy.archive_after_days, now))
        if policy.delete_after_days:
            results.append(delete(engine, name, policy.delete_after_days, now))
        if policy.purge_trash_after_days:
            results.append(purge(engine, name, policy.purge_trash_after_days, now,
                                 attachments_root))
    return results


def erase_archived(conn: sa.Connection, contact_ids: list[int]) -> dict[str, int]:
    """GDPR erase in the archive: the person's archived interactions (with their archived
    sentiment scores) and campaign deliveries are deleted; rows changed per table."""
    erased: dict[str, int] = {}
    exists = set(conn.execute(sa.text(
        "select table_name from information_schema.tables where table_schema = :s"),
        {"s": ARCHIVE_SCHEMA}).scalars())
    if "ml__sentiment_analysis" in exists and "app__interactions" in exists:
        erased["archive.ml__sentiment_analysis"] = conn.execute(sa.text(
            "delete from archive.ml__sentiment_analysis where interaction_id in "
            "(select id from archive.app__interactions where contact_id = any(:ids))"),
            {"ids": contact_ids}).rowcount
    for table in ("app__interactions", "app__campaign_deliveries"):
        if table in exists:
            erased[f"archive.{table}"] = conn.execute(sa.text(
                f"delete from archive.{table} where contact_id = any(:ids)"),
                {"ids": contact_ids}).rowcount
    return {k: v for k, v in erased.items() if v}


def report(conn: sa.Connection, since: datetime) -> list[dict[str, Any]]:
    """What was archived, deleted, purged or GDPR-erased since `since`, oldest first:
    when, what, how many, why (the policy or the erase's reason), and what went with it
    (`dependents`: rows per table moved along or cascaded, attachment `files` removed;
    for an erase, the rows changed per table and the `files` removed)."""
    steps = conn.execute(sa.select(LifecycleAction.__table__).where(
        LifecycleAction.started_at >= since).order_by(LifecycleAction.id)).mappings()
    rows = [{"at": s["started_at"], "action": s["action"], "entity": s["entity"],
             "rows": s["rows"], "why": f"policy {s['policy']} (before "
                                         f"{s['cutoff']:%Y-%m-%d})",
             "where": s["archive_table"] or "deleted",
             "blocked": len(s["blocked"]), "dependents": s["dependents"] or {},
             "ids": s["ids"]}
            for s in steps if s["rows"] or s["blocked"]]
    erasures = conn.execute(sa.select(AuditLog.occurred_at, AuditLog.entity_id,
                                      AuditLog.after).where(
        AuditLog.action == "erase", AuditLog.entity == "contacts",
        AuditLog.occurred_at >= since).order_by(AuditLog.id))
    rows += [{"at": at, "action": "gdpr_erase", "entity": "contacts",
              "rows": sum(n for table, n in (after or {}).get("gdpr_erase", {}).items()
                          if table != FILES),
              "why": (after or {}).get("reason", ""), "where": "erased",
              "blocked": 0, "dependents": (after or {}).get("gdpr_erase", {}),
              "ids": [int(entity_id)]} for at, entity_id, after in erasures]
    return sorted(rows, key=lambda r: r["at"])
