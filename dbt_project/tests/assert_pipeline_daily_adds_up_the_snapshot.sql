-- fct_pipeline_daily is fct_pipeline_daily_snapshot added up: every day holds the same
-- deals and amounts, per owner, stage and forecast category, as the snapshot's rows.
with

snapshot as (

    select
        snapshot_date, owner_id, stage_id, forecast_category, count(*) as deals,
        coalesce(sum(amount_reporting), 0) as amount_reporting
    from {{ ref('fct_pipeline_daily_snapshot') }}
    group by snapshot_date, owner_id, stage_id, forecast_category

),

daily as (

    select
        snapshot_date, owner_id, stage_id, forecast_category, deals,
        coalesce(amount_reporting, 0) as amount_reporting
    from {{ ref('fct_pipeline_daily') }}

)

select
    coalesce(snapshot.snapshot_date, daily.snapshot_date) as snapshot_date,
    coalesce(snapshot.owner_id, daily.owner_id) as owner_id,
    snapshot.deals as snapshot_deals,
    daily.deals as daily_deals,
    snapshot.amount_reporting as snapshot_amount,
    daily.amount_reporting as daily_amount
from snapshot
full join daily
    on daily.snapshot_date = snapshot.snapshot_date
   and daily.owner_id is not distinct from snapshot.owner_id
   and daily.stage_id = snapshot.stage_id
   and daily.forecast_category is not distinct from snapshot.forecast_category
where snapshot.deals is distinct from daily.deals
   or snapshot.amount_reporting is distinct from daily.amount_reporting
