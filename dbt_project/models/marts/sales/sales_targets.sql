-- One row per bookings target: its period as a day range (period_end is the last day), and
-- whom it is for as a level (company, team, rep), so a dashboard can prorate targets over
-- any date range (amount x overlapping days / period days) without double counting: it
-- reads one level at a time.
with

targets as (

    select * from {{ ref('stg_app__sales_targets') }}

)

select
    sales_target_id,
    period_grain,
    period_start,
    (period_start + case period_grain when 'quarter' then interval '3 months'
                                      else interval '1 month' end - interval '1 day')::date
        as period_end,
    case when user_id is not null then 'rep'
         when team_id is not null then 'team'
         else 'company' end::text as level,
    team_id,
    user_id as owner_id,
    target_amount::numeric(16, 2) as target_amount
from targets
