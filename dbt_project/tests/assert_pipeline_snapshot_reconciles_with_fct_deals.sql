-- The snapshot of the day of as_of is the pipeline of fct_deals: every open deal is in it
-- at its current stage and amount, and no closed deal is. Deals changed after as_of (when
-- as_of is in the past) are left out: fct_deals shows them as they are now.
with

snapshot as (

    select deal_id, stage_id, amount
    from {{ ref('fct_pipeline_daily_snapshot') }}
    where snapshot_date = ({{ as_of() }})::date

),

last_stage_change as (

    select deal_id, max(entered_at) as last_entered_at
    from {{ ref('fct_deal_stage_history') }}
    group by deal_id

),

deals as (

    select fct_deals.*
    from {{ ref('fct_deals') }} as fct_deals
    left join last_stage_change on last_stage_change.deal_id = fct_deals.deal_id
    where fct_deals.created_at < {{ as_of() }}
      and greatest(fct_deals.updated_at, fct_deals.closed_at, last_stage_change.last_entered_at)
          <= {{ as_of() }}

)

select deals.deal_id, 'open deal missing from the snapshot' as problem
from deals
where not deals.is_closed
  and not exists (select 1 from snapshot where snapshot.deal_id = deals.deal_id)

union all

select deals.deal_id, 'closed deal in the snapshot' as problem
from deals
inner join snapshot on snapshot.deal_id = deals.deal_id
where deals.is_closed

union all

select deals.deal_id, 'stage or amount differs' as problem
from deals
inner join snapshot on snapshot.deal_id = deals.deal_id
where not deals.is_closed
  and (snapshot.stage_id is distinct from deals.stage_id
       or snapshot.amount is distinct from deals.amount)
