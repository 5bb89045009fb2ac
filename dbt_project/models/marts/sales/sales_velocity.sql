-- Sales velocity per month, overall and by rep, team and segment: deals created, closed,
-- won; win rate, average won deal size, average sales cycle, and pipeline velocity
-- (opportunities x win rate x average deal size / cycle length: revenue per day).
-- A deal counts in the month it was created (opportunities) and in the month it closed
-- (closed, won, lost, amounts, cycle). Amounts are in the reporting currency.
with

deals as (

    select * from {{ ref('fct_deals') }}

),

events as (

    select
        date_trunc('month', created_at)::date as period,
        'created' as event,
        deal_id, owner_id, owner_name, owner_team_id, owner_team_name, segment,
        false as is_won, null::numeric as amount, null::integer as cycle_days
    from deals

    union all

    select
        date_trunc('month', closed_at)::date as period,
        'closed' as event,
        deal_id, owner_id, owner_name, owner_team_id, owner_team_name, segment,
        is_won, amount_reporting as amount, age_days as cycle_days
    from deals
    where is_closed
      and closed_at is not null

),

grouped as (

    select
        period,
        case
            when grouping(owner_id) = 0 then 'rep'
            when grouping(owner_team_id) = 0 then 'team'
            when grouping(segment) = 0 then 'segment'
            else 'all'
        end as dimension,
        case
            when grouping(owner_id) = 0 then coalesce(owner_id::text, 'none')
            when grouping(owner_team_id) = 0 then coalesce(owner_team_id::text, 'none')
            when grouping(segment) = 0 then coalesce(segment, 'none')
            else 'all'
        end as dimension_key,
        case
            when grouping(owner_id) = 0 then coalesce(max(owner_name), 'Unassigned')
            when grouping(owner_team_id) = 0 then coalesce(max(owner_team_name), 'No team')
            when grouping(segment) = 0 then coalesce(segment, 'No segment')
            else 'All'
        end as dimension_label,
        count(*) filter (where event = 'created') as opportunities_created,
        count(*) filter (where event = 'closed') as deals_closed,
        count(*) filter (where event = 'closed' and is_won) as deals_won,
        count(*) filter (where event = 'closed' and not is_won) as deals_lost,
        sum(amount) filter (where event = 'closed' and is_won) as won_amount,
        avg(cycle_days) filter (where event = 'closed' and is_won) as avg_cycle_days
    from events
    group by grouping sets (
        (period, owner_id),
        (period, owner_team_id),
        (period, segment),
        (period)
    )

),

rates as (

    select
        *,
        deals_won::numeric / nullif(deals_closed, 0) as win_rate,
        won_amount / nullif(deals_won, 0) as avg_deal_size
    from grouped

)

select
    period,
    dimension,
    dimension_key,
    dimension_label,
    opportunities_created::integer as opportunities_created,
    deals_closed::integer as deals_closed,
    deals_won::integer as deals_won,
    deals_lost::integer as deals_lost,
    round(win_rate, 4)::numeric(6, 4) as win_rate,
    coalesce(won_amount, 0)::numeric(18, 2) as won_amount,
    round(avg_deal_size, 2)::numeric(18, 2) as avg_deal_size,
    round(avg_cycle_days, 1)::numeric(10, 1) as avg_cycle_days,
    round(
        opportunities_created * win_rate * avg_deal_size / nullif(avg_cycle_days, 0), 2
    )::numeric(18, 2) as pipeline_velocity
from rates
