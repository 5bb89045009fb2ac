-- The win-probability model's deals: one row per live deal, with what was known when.
-- A deal is known from created_at; its outcome (is_closed, is_won, booked_amount) from
-- closed_at, so a snapshot at a moment T reads only deals created by T and outcomes closed
-- before T. Owner, team, segment and amount are today's: the app keeps no history of them
-- (the amount recorded with each stage entry is in deal_stage_features).
with

deals as (

    select * from {{ ref('stg_app__deals') }}
    where not is_deleted

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

joined as (

    select
        deals.deal_id,
        deals.owner_id,
        users.team_id,
        coalesce(deals.deal_type, deals.lead_source) as segment,
        deals.amount,
        deals.created_at,
        coalesce(stages.is_closed, false) as is_closed,
        case when stages.is_closed then coalesce(deals.closed_at, deals.updated_at) end
            as closed_at,
        coalesce(deals.is_won, false) and coalesce(stages.is_closed, false) as is_won
    from deals
    inner join stages on stages.stage_id = deals.stage_id
    left join users on users.user_id = deals.owner_id

)

select
    deal_id,
    owner_id,
    team_id,
    segment,
    amount,
    created_at,
    is_closed,
    closed_at,
    is_won,
    case when is_won then amount end as booked_amount
from joined
