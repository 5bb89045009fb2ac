"""lead assignment rules, assignment decisions, stage-entry task templates

Revision ID: b4c8e2a61d93
Revises: b8f2d4e6a1c3
Create Date: 2026-11-26 01:55:00

`app.assignment_rules` says who takes an unowned lead (territory, pool, strategy, cap),
`app.lead_assignments` keeps the latest decision per lead (the owner and rule, or why
nobody could take it), `app.stage_task_templates` the tasks a deal's owner gets when the
deal enters a stage.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b4c8e2a61d93"
down_revision: str | Sequence[str] | None = "b8f2d4e6a1c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = {"server_default": sa.text("now()"), "nullable": False}


def upgrade() -> None:
    op.create_table(
        "assignment_rules",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="100", nullable=False,
                  comment="lower positions are tried first"),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("strategy", sa.Text(), server_default="round_robin", nullable=False),
        sa.Column("countries", postgresql.ARRAY(sa.Text()), nullable=True,
                  comment="territory: countries or regions (case-insensitive); null matches "
                  "every lead"),
        sa.Column("team_id", sa.BigInteger(), nullable=True,
                  comment="pool: the team's active sales reps"),
        sa.Column("user_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}",
                  nullable=False, comment="pool: these users (with the team's)"),
        sa.Column("max_open_leads", sa.Integer(), nullable=True,
                  comment="cap per rep on open leads (new, working, nurturing, qualified)"),
        sa.Column("last_user_id", sa.BigInteger(), nullable=True,
                  comment="round robin: who took the last"),
        sa.Column("created_at", sa.DateTime(timezone=True), **_TS),
        sa.Column("updated_at", sa.DateTime(timezone=True), **_TS),
        sa.CheckConstraint("strategy in ('round_robin', 'load_balanced')",
                           name=op.f("ck_assignment_rules_strategy_valid")),
        sa.CheckConstraint("team_id is not null or cardinality(user_ids) > 0",
                           name=op.f("ck_assignment_rules_has_pool")),
        sa.CheckConstraint("max_open_leads is null or max_open_leads >= 0",
                           name=op.f("ck_assignment_rules_cap_valid")),
        sa.ForeignKeyConstraint(["team_id"], ["app.teams.id"], ondelete="CASCADE",
                                name=op.f("fk_assignment_rules_team_id_teams")),
        sa.ForeignKeyConstraint(["last_user_id"], ["app.users.id"], ondelete="SET NULL",
                                name=op.f("fk_assignment_rules_last_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_assignment_rules_name")),
        schema="app")
    op.create_index(op.f("ix_assignment_rules_team_id"), "assignment_rules", ["team_id"],
                    schema="app")
    op.create_table(
        "lead_assignments",
        sa.Column("lead_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), **_TS),
        sa.ForeignKeyConstraint(["lead_id"], ["app.leads.id"], ondelete="CASCADE",
                                name=op.f("fk_lead_assignments_lead_id_leads")),
        sa.ForeignKeyConstraint(["rule_id"], ["app.assignment_rules.id"], ondelete="SET NULL",
                                name=op.f("fk_lead_assignments_rule_id_assignment_rules")),
        sa.ForeignKeyConstraint(["owner_id"], ["app.users.id"], ondelete="SET NULL",
                                name=op.f("fk_lead_assignments_owner_id_users")),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_assignments")),
        schema="app")
    op.create_table(
        "stage_task_templates",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("stage_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("task_type", sa.Text(), nullable=True),
        sa.Column("priority", sa.Text(), server_default="normal", nullable=False),
        sa.Column("due_in_days", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), **_TS),
        sa.Column("updated_at", sa.DateTime(timezone=True), **_TS),
        sa.CheckConstraint("priority in ('low', 'normal', 'high', 'urgent')",
                           name=op.f("ck_stage_task_templates_priority_valid")),
        sa.ForeignKeyConstraint(["stage_id"], ["app.pipeline_stages.id"], ondelete="CASCADE",
                                name=op.f("fk_stage_task_templates_stage_id_pipeline_stages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_task_templates")),
        sa.UniqueConstraint("stage_id", "title",
                            name=op.f("uq_stage_task_templates_stage_id_title")),
        schema="app")


def downgrade() -> None:
    op.drop_table("stage_task_templates", schema="app")
    op.drop_table("lead_assignments", schema="app")
    op.drop_index(op.f("ix_assignment_rules_team_id"), table_name="assignment_rules",
                  schema="app")
    op.drop_table("assignment_rules", schema="app")
