"""ml.attribution (data-driven attribution in the mart's long shape) and the
ml.sentiment_trends view

Revision ID: a7d3e5c1b9f2
Revises: a7e3c1d9f2b4
Create Date: 2026-11-26 00:40:00

ml.sentiment_trends: per contact and per account, the latest sentiment of each of its
interactions (the newest ml.sentiment_analysis row per interaction), compared as the mean
of the RECENT newest interactions against the mean of the PREVIOUS ones before them. Which
change counts as a significant drop is decided by ml.sentiment.trends, which emits the alert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7d3e5c1b9f2"
down_revision: str | Sequence[str] | None = "a7e3c1d9f2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Interactions in the recent window, and in the window before it, per contact or account.
RECENT = 3
PREVIOUS = 10

TRENDS_VIEW = f"""
create view ml.sentiment_trends as
with latest as (
    select distinct on (s.interaction_id)
        s.interaction_id, s.label, s.score, s.model_name, s.model_version,
        i.contact_id, i.account_id, i.occurred_at from ml.sentiment_analysis as s
    join app.interactions as i on i.id = s.interaction_id and i.deleted_at is null
    order by s.interaction_id, s.scored_at desc, s.id desc
),
entities as (
    select 'contact'::text as entity_type, contact_id as entity_id, latest.*
    from latest where contact_id is not null
    union all
    select 'account'::text, account_id, latest.*
    from latest where account_id is not null
),
ranked as (
    select entities.*, row_number() over (
        partition by entity_type, entity_id order by occurred_at desc, interaction_id desc
    ) as recency
    from entities
),
windows as (
    select
        entity_type, entity_id,
        count(*)::integer as interactions,
        avg(score) filter (where recency <= {RECENT}) as recent_score,
        count(*) filter (where recency <= {RECENT})::integer as recent_interactions,
        avg(score) filter (where recency > {RECENT} and recency <= {RECENT + PREVIOUS})
            as previous_score,
        count(*) filter (where recency > {RECENT} and recency <= {RECENT + PREVIOUS})::integer
            as previous_interactions,
        max(interaction_id) filter (where recency = 1) as last_interaction_id,
        max(occurred_at) as last_interaction_at,
        max(label) filter (where recency = 1) as last_label
    from ranked
    group by entity_type, entity_id
)
select windows.*, recent_score - previous_score as change
from windows
"""


def upgrade() -> None:
    op.create_table(
        "attribution",
        sa.Column("model", sa.Text(), nullable=False, comment="markov_order_1..3 or shapley"),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("period", sa.Date(), nullable=False,
                  comment="first day of the conversion month"),
        sa.Column("conversions", sa.Float(), nullable=False),
        sa.Column("revenue", sa.Numeric(16, 2), nullable=False),
        sa.Column("model_name", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("mlflow_run_id", sa.Text(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribution")),
        schema="ml",
    )
    op.create_index(op.f("ix_attribution_model_period"), "attribution", ["model", "period"],
                    unique=False, schema="ml")
    op.execute(TRENDS_VIEW)


def downgrade() -> None:
    op.execute("drop view if exists ml.sentiment_trends")
    op.drop_index(op.f("ix_attribution_model_period"), table_name="attribution", schema="ml")
    op.drop_table("attribution", schema="ml")
