"""Lead assignment rules, the last decision per lead, and stage-entry task templates."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from salesops.models.base import Base, IdMixin, TimestampMixin, app_fk, one_of
from salesops.models.work import PRIORITIES

ASSIGNMENT_STRATEGIES = ("round_robin", "load_balanced")


class AssignmentRule(IdMixin, TimestampMixin, Base):
    """Who takes an unowned lead: the first active rule (by position) whose territory
    matches and whose pool has a rep under the cap."""

    __tablename__ = "assignment_rules"
    __table_args__ = (
        one_of("strategy", ASSIGNMENT_STRATEGIES),
        sa.CheckConstraint("team_id is not null or cardinality(user_ids) > 0",
                           name="has_pool"),
        sa.CheckConstraint("max_open_leads is null or max_open_leads >= 0", name="cap_valid"),
        {"schema": "app"},
    )

    name: Mapped[str] = mapped_column(sa.Text, unique=True)
    position: Mapped[int] = mapped_column(sa.Integer, server_default="100",
                                          comment="lower positions are tried first")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    strategy: Mapped[str] = mapped_column(sa.Text, server_default="round_robin")
    countries: Mapped[list[str] | None] = mapped_column(
        ARRAY(sa.Text), comment="territory: countries or regions (case-insensitive); "
        "null matches every lead")
    team_id: Mapped[int | None] = mapped_column(app_fk("teams", "CASCADE"), index=True,
                                                comment="pool: the team's active sales reps")
    user_ids: Mapped[list[int]] = mapped_column(ARRAY(sa.BigInteger), server_default="{}",
                                                comment="pool: these users (with the team's)")
    max_open_leads: Mapped[int | None] = mapped_column(
        sa.Integer, comment="cap per rep on open leads (new, working, nurturing, qualified)")
    last_user_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"),
                                                     comment="round robin: who took the last")


class LeadAssignment(Base):
    """The latest assignment decision per lead: the owner and rule, or why nobody."""

    __tablename__ = "lead_assignments"
    __table_args__ = {"schema": "app"}

    lead_id: Mapped[int] = mapped_column(app_fk("leads", "CASCADE"), primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(app_fk("assignment_rules", "SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(app_fk("users", "SET NULL"))
    reason: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    decided_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True),
                                                 server_default=sa.func.now())


class StageTaskTemplate(IdMixin, TimestampMixin, Base):
    """A task created for the deal's owner each time a deal enters the stage."""

    __tablename__ = "stage_task_templates"
    __table_args__ = (one_of("priority", PRIORITIES),
                      sa.UniqueConstraint("stage_id", "title"), {"schema": "app"})

    stage_id: Mapped[int] = mapped_column(app_fk("pipeline_stages", "CASCADE"))
    title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    task_type: Mapped[str | None] = mapped_column(sa.Text)
    priority: Mapped[str] = mapped_column(sa.Text, server_default="normal")
    due_in_days: Mapped[int | None] = mapped_column(sa.Integer)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
