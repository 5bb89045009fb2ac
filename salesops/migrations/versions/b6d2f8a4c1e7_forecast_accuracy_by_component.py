"""ml.forecast_accuracy: the actual split by whether the deal existed at the as-of date

Revision ID: b6d2f8a4c1e7
Revises: c3f8a1e6d2b9
Create Date: 2026-11-26 16:30:00

The forecast calibrates its two components, the pipeline (deals that existed at the as-of
date: open then, or already booked in the period) and the business not created yet, each
by its own past errors (ml/forecasting/simulate.py, `calibrate`). The view keeps its
columns and adds, per period forecast: `actual_pipeline_amount` (won by deals created by
the as-of date), `actual_new_business_amount` (won by deals created after it; the two add
up to `actual_amount`) and `expected_new_business_amount` (the same forecast's
`new_business` component row; null for a forecast without one). The as-of date is a day:
a deal created on it after midnight counts as new business.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b6d2f8a4c1e7"
down_revision: str | Sequence[str] | None = "c3f8a1e6d2b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERIODS = """
with periods as (
    select f.*, f.period_start + case f.period_grain when 'quarter' then interval '3 months'
                                                    else interval '1 month' end
           as period_end from ml.forecasts f
     where f.deal_id is null and f.forecast_category is null and f.period_start is not null
)"""

_ACCURACY = """
select p.id as forecast_id, p.as_of, p.scored_at, p.model_name, p.model_version,
       p.mlflow_run_id, p.period_grain, p.period_start, p.period_end::date as period_end,
       p.level, p.team_id, p.owner_id, p.p10, p.p50, p.p90, p.expected_amount,
       a.actual_amount, p.period_end <= current_date as is_complete,
       case when a.actual_amount > 0
            then abs(p.p50 - a.actual_amount) / a.actual_amount end as abs_pct_error,
       a.actual_amount between p.p10 and p.p90 as in_p10_p90"""

_WON = """
      left join app.sales_pipeline d
        on d.is_won and d.deleted_at is null
       and d.closed_at >= p.period_start and d.closed_at < p.period_end
       and (p.owner_id is null or d.owner_id = p.owner_id)
       and (p.team_id is null
            or d.owner_id in (select u.id from app.users u where u.team_id = p.team_id))
     group by p.id"""

VIEW = f"""
create view ml.forecast_accuracy as
{_PERIODS}, actuals as (
    select p.id, coalesce(sum(d.amount), 0) as actual_amount,
           coalesce(sum(d.amount) filter (where d.created_at <= p.as_of), 0)
               as actual_pipeline_amount,
           coalesce(sum(d.amount) filter (where d.created_at > p.as_of), 0)
               as actual_new_business_amount
      from periods p{_WON}
), components as (
    select p.id, n.expected_amount as expected_new_business_amount
      from periods p
      join ml.forecasts n
        on n.forecast_category = 'new_business' and n.deal_id is null
       and n.as_of = p.as_of and n.scored_at = p.scored_at
       and n.model_name = p.model_name and n.model_version = p.model_version
       and n.level = p.level and n.period_grain = p.period_grain
       and n.period_start = p.period_start
       and n.team_id is not distinct from p.team_id
       and n.owner_id is not distinct from p.owner_id
){_ACCURACY},
       a.actual_pipeline_amount, a.actual_new_business_amount,
       c.expected_new_business_amount
  from periods p join actuals a on a.id = p.id
  left join components c on c.id = p.id
"""

PREVIOUS_VIEW = f"""
create view ml.forecast_accuracy as
{_PERIODS}, actuals as (
    select p.id, coalesce(sum(d.amount), 0) as actual_amount
      from periods p{_WON}
){_ACCURACY}
  from periods p join actuals a on a.id = p.id
"""


def upgrade() -> None:
    op.execute("drop view if exists ml.forecast_accuracy")
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("drop view if exists ml.forecast_accuracy")
    op.execute(PREVIOUS_VIEW)
