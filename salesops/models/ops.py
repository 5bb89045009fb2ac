"""The `ops` schema: load batches, incremental cursors, quarantined rows and sync runs."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import Base, IdMixin, one_of

BATCH_STATUSES = ("running", "loaded", "failed")


class LoadBatch(Base):
    """One load of one source entity: what came in, what was new, what was quarantined."""

    __tablename__ = "load_batches"
    __table_args__ = (one_of("status", BATCH_STATUSES),
                      sa.Index(None, "source", "entity", "started_at"), {"schema": "ops"})

    batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                                default=uuid.uuid4)
    source: Mapped[str] = mapped_column(sa.Text)
    entity: Mapped[str] = mapped_column(sa.Text)
    origin: Mapped[str | None] = mapped_column(sa.Text, comment="file, folder or API endpoint")
    status: Mapped[str] = mapped_column(sa.Text, server_default="running")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    rows_in: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_loaded: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_duplicate: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)


class RejectedRow(IdMixin, Base):
    """Quarantine: a row that failed validation, with its reason; never silently dropped."""

    __tablename__ = "rejected_rows"
    __table_args__ = (sa.Index(None, "source", "entity", "rejected_at"), {"schema": "ops"})

    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("ops.load_batches.batch_id"), index=True)
    source: Mapped[str] = mapped_column(sa.Text)
    entity: Mapped[str] = mapped_column(sa.Text)
    stage: Mapped[str] = mapped_column(sa.Text, server_default="load",
                                       comment="load (raw) or merge (app)")
    source_key: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text)
    record: Mapped[dict | None]
    rejected_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                  server_default=sa.func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("ops.load_batches.batch_id"),
        comment="the replay that fixed it")


class Cursor(Base):
    """Where an incremental source left off (a timestamp, an IMAP UID, an API cursor)."""

    __tablename__ = "cursors"
    __table_args__ = {"schema": "ops"}

    source: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    entity: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now(),
                                                 onupdate=sa.func.now())


class MergeRun(IdMixin, Base):
    """One merge of raw batches into `app`: how many records it created, updated, rejected."""

    __tablename__ = "merge_runs"
    __table_args__ = {"schema": "ops"}

    entity: Mapped[str] = mapped_column(sa.Text)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    rows_in: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    created: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    updated: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rejected: Mapped[int] = mapped_column(sa.Integer, server_default="0")


SYNC_DIRECTIONS = ("to_crm", "from_crm")
SYNC_DECISIONS = ("pushed", "kept_crm", "failed")
SYNC_RULES = ("salesops_owns", "crm_owns", "later_change")


class CrmSyncLog(IdMixin, Base):
    """One field of one record in a CRM write-back run: which side won, by which rule,
    and both values; unchanged fields are not logged."""

    __tablename__ = "crm_sync_log"
    __table_args__ = (one_of("direction", SYNC_DIRECTIONS), one_of("decision", SYNC_DECISIONS),
                      one_of("rule", SYNC_RULES), sa.Index(None, "object_type", "object_id"),
                      {"schema": "ops"})

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app.integration_sync_runs.id", ondelete="CASCADE"), index=True)
    object_type: Mapped[str] = mapped_column(sa.Text, comment="the CRM's object type")
    object_id: Mapped[str] = mapped_column(sa.Text, comment="the CRM's record id")
    lead_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    field: Mapped[str] = mapped_column(sa.Text, comment="the CRM property")
    direction: Mapped[str] = mapped_column(sa.Text, comment="the winning side's way")
    decision: Mapped[str] = mapped_column(sa.Text)
    rule: Mapped[str] = mapped_column(sa.Text)
    local_value: Mapped[str | None] = mapped_column(sa.Text)
    crm_value: Mapped[str | None] = mapped_column(sa.Text)
    local_changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    crm_changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(sa.Text)
    logged_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                server_default=sa.func.now())


LIFECYCLE_ACTIONS = ("archive", "delete", "purge")


class LifecycleAction(IdMixin, Base):
    """One retention step on one entity: what was archived, deleted or purged from the
    trash, when, and by which policy; the compliance report reads these."""

    __tablename__ = "lifecycle_actions"
    __table_args__ = (one_of("action", LIFECYCLE_ACTIONS), sa.Index(None, "started_at"),
                      {"schema": "ops"})

    action: Mapped[str] = mapped_column(sa.Text)
    entity: Mapped[str] = mapped_column(sa.Text)
    source_table: Mapped[str] = mapped_column(sa.Text)
    archive_table: Mapped[str | None] = mapped_column(sa.Text, comment="where rows went")
    policy: Mapped[str] = mapped_column(sa.Text, comment="the rule, e.g. archive_after_days=730")
    cutoff: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    rows: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    ids: Mapped[list] = mapped_column(server_default="[]", comment="the rows' primary keys")
    blocked: Mapped[list] = mapped_column(server_default="[]",
                                          comment="rows kept, each with the reason")
    dependents: Mapped[dict] = mapped_column(server_default="{}",
                                             comment="rows of other tables moved along")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())
