-- Won and lost deals per month of close, outcome and reason (a lost deal's loss_reason;
-- 'unspecified' when none was given; won deals have the reason 'won'), with their count,
-- amount, average cycle and share of the month's deals of that outcome.
with

closed as (

    select
        date_trunc('month', closed_at)::date as period,
        case when is_won then 'won' else 'lost' end as outcome,
        case
            when is_won then 'won'
            else coalesce(nullif(btrim(loss_reason), ''), 'unspecified')
        end as reason,
        amount_reporting,
        age_days,
        stage_changes
    from {{ ref('fct_deals') }}
    where is_closed
      and closed_at is not null

),

grouped as (

    select
        period,
        outcome,
        reason,
        count(*) as deals,
        sum(amount_reporting) as amount,
        avg(age_days) as avg_cycle_days,
        avg(stage_changes) as avg_stage_changes
    from closed
    group by period, outcome, reason

)

select
    period,
    outcome,
    reason,
    deals::integer as deals,
    coalesce(amount, 0)::numeric(18, 2) as amount,
    round(avg_cycle_days, 1)::numeric(10, 1) as avg_cycle_days,
    round(avg_stage_changes, 2)::numeric(10, 2) as avg_stage_changes,
    round(deals::numeric / sum(deals) over (partition by period, outcome), 4)::numeric(6, 4)
        as share_of_outcome
from grouped
