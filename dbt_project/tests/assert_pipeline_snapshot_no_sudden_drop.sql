-- A guard on the daily pipeline snapshot: warns about days whose open-deal count fell by
-- more than half from the day before (when that day had at least 20), which is more often
-- a broken load than a real collapse of the pipeline.
{{ config(severity='warn') }}

with

daily as (

    select snapshot_date, count(*) as open_deals
    from {{ ref('fct_pipeline_daily_snapshot') }}
    group by snapshot_date

),

compared as (

    select
        snapshot_date,
        open_deals,
        lag(open_deals) over (order by snapshot_date) as previous_open_deals,
        lag(snapshot_date) over (order by snapshot_date) as previous_date
    from daily

)

select *
from compared
where previous_date = snapshot_date - 1
  and previous_open_deals >= 20
  and open_deals < previous_open_deals * 0.5
