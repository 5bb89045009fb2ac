-- The open pipeline of each day (fct_pipeline_daily_snapshot) added up by owner, stage and
-- forecast category: what the dashboards' pipeline page charts (the pipeline as it stood
-- on a date, by stage, and its trend over a range of days), a few rows per owner and day
-- instead of every open deal. Incremental like the snapshot, and after it: a run
-- recomputes the days from the last one it holds, the days the snapshot's run rewrote;
-- `--full-refresh` adds up every day. Written in day order, like the snapshot.
{{
    config(
        materialized='incremental',
        unique_key='snapshot_date',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['snapshot_date']},
        ],
    )
}}

select
    snapshot_date,
    owner_id,
    owner_team_id,
    pipeline_id,
    stage_id,
    stage_name,
    stage_position,
    forecast_category,
    count(*) as deals,
    sum(amount_reporting)::numeric(18, 2) as amount_reporting,
    sum(amount_reporting * probability / 100.0)::numeric(18, 2) as weighted_amount_reporting,
    count(*) filter (where amount_reporting is null) as deals_without_rate
from {{ ref('fct_pipeline_daily_snapshot') }}
{#- `is defined`: salesops.warehouse.mart_statements renders this model without dbt #}
{%- if is_incremental is defined and is_incremental() %}
where snapshot_date >= (select max(snapshot_date) from {{ this }})
{%- endif %}
group by
    snapshot_date, owner_id, owner_team_id, pipeline_id, stage_id, stage_name, stage_position,
    forecast_category
order by snapshot_date, owner_id, stage_id
