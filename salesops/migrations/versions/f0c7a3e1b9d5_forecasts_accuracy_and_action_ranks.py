"""forecasts: level, expected and closed amounts; ml.forecast_accuracy; next-best-action ranks

Revision ID: f0c7a3e1b9d5
Revises: a7d3e5c1b9f2
Create Date: 2026-11-26 00:45:00

A period forecast row is at one level: `total` (everyone), `team` or `rep`; deal rows are
`deal`. `expected_amount` is the simulated mean, `closed_amount` what was already booked in
the period on the as-of date. The view compares every period forecast (all categories) with
what was won in that period, so forecast accuracy can be tracked by as-of date.
Next best actions get their rank (1 = best) per record, a confidence (the probability of
progress after the action) and the email template they name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f0c7a3e1b9d5"
down_revision: str | Sequence[str] | None = "a7d3e5c1b9f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = """
create view ml.forecast_accuracy as
with periods as (
    select f.*, f.period_start + case f.period_grain when 'quarter' then interval '3 months'
                                                    else interval '1 month' end
           as period_end from ml.forecasts f
     where f.deal_id is null and f.forecast_category is null and f.period_start is not null
), actuals as (
    select p.id, coalesce(sum(d.amount), 0) as actual_amount
      from periods p
      left join app.sales_pipeline d
        on d.is_won and d.deleted_at is null
       and d.closed_at >= p.period_start and d.closed_at < p.period_end
       and (p.owner_id is null or d.owner_id = p.owner_id)
       and (p.team_id is null
            or d.owner_id in (select u.id from app.users u where u.team_id = p.team_id))
     group by p.id
)
select p.id as forecast_id, p.as_of, p.scored_at, p.model_name, p.model_version,
       p.mlflow_run_id, p.period_grain, p.period_start, p.period_end::date as period_end,
       p.level, p.team_id, p.owner_id, p.p10, p.p50, p.p90, p.expected_amount,
       a.actual_amount, p.period_end <= current_date as is_complete,
       case when a.actual_amount > 0
            then abs(p.p50 - a.actual_amount) / a.actual_amount end as abs_pct_error,
       a.actual_amount between p.p10 and p.p90 as in_p10_p90
  from periods p join actuals a on a.id = p.id
"""


def upgrade() -> None:
    op.add_column("forecasts", sa.Column("level", sa.Text(), nullable=True,
                                         comment="deal, total, team or rep"), schema="ml")
    op.add_column("forecasts", sa.Column("expected_amount", sa.Numeric(16, 2), nullable=True),
                  schema="ml")
    op.add_column("forecasts", sa.Column("closed_amount", sa.Numeric(16, 2), nullable=True),
                  schema="ml")
    op.create_check_constraint(op.f("ck_forecasts_level_valid"), "forecasts",
                               "level in ('deal', 'total', 'team', 'rep')", schema="ml")
    op.execute(VIEW)
    op.add_column("next_best_actions", sa.Column("rank", sa.SmallInteger(), nullable=True,
                                                       comment="1 = best, per record"),
                  schema="ml")
    op.add_column("next_best_actions", sa.Column("confidence", sa.Float(), nullable=True,
                                                       comment="P(progress) after the action"),
                  schema="ml")
    op.add_column("next_best_actions", sa.Column("template_id", sa.BigInteger(), nullable=True),
                  schema="ml")
    op.create_foreign_key(op.f("fk_next_best_actions_template_id_communication_templates"),
                          "next_best_actions", "communication_templates", ["template_id"],
                          ["id"], source_schema="ml", referent_schema="app",
                          ondelete="SET NULL")


def downgrade() -> None:
    op.drop_constraint(op.f("fk_next_best_actions_template_id_communication_templates"),
                       "next_best_actions", schema="ml", type_="foreignkey")
    for column in ("template_id", "confidence", "rank"):
        op.drop_column("next_best_actions", column, schema="ml")
    op.execute("drop view if exists ml.forecast_accuracy")
    op.drop_constraint(op.f("ck_forecasts_level_valid"), "forecasts", schema="ml")
    op.drop_column("forecasts", "closed_amount", schema="ml")
    op.drop_column("forecasts", "expected_amount", schema="ml")
    op.drop_column("forecasts", "level", schema="ml")
