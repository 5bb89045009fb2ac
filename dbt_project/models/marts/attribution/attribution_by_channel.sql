-- Attributed conversions and revenue per model, conversion type, channel, campaign and
-- month of conversion: the long table that compares attribution models side by side. The
-- data-driven models of ml write the same shape (CONTRACTS.md).
-- Incremental by month (delete+insert of the months touched): a run recomputes the months
-- of the fct_attribution rows written since its last run (macros/written_since_mark.sql),
-- and the months whose first_touch conversions no longer add up to what it holds: a
-- conversion that moved to another month or is gone lowers its old month's count, unless a
-- conversion written this run entered that month, which is then recomputed anyway. The
-- pre-hook deletes the touched months first, so a month left without conversions has no
-- row. `dbt build --full-refresh` rebuilds every month.
-- Indexed on the columns dashboards filter by.
{{
    config(
        materialized='incremental',
        unique_key='period',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['period']},
            {'columns': ['campaign']},
        ],
        pre_hook=[
            "{% if is_incremental() %}delete from {{ this }} where period = any(array("
            ~ "{{ attribution_months_touched() }})){% endif %}",
            "{{ take_xid_mark() }}",
        ],
        post_hook=["{{ commit_xid_mark() }}"],
    )
}}

with

attribution as (

    select * from {{ ref('fct_attribution') }}
    {% if is_incremental() -%}
    where date_trunc('month', conversion_date)::date = any(array({{ attribution_months_touched() }}))
    {%- endif %}

)

select
    model,
    conversion_type,
    channel,
    campaign,
    date_trunc('month', conversion_date)::date as period,
    sum(credit)::double precision as conversions,
    round(sum(attributed_revenue), 2)::numeric(16, 2) as revenue,
    count(distinct lead_id) filter (where conversion_type = 'lead')::integer as converted_leads,
    count(distinct deal_id)::integer as won_deals,
    count(touchpoint_id)::integer as credited_touchpoints
from attribution
group by model, conversion_type, channel, campaign, date_trunc('month', conversion_date)::date
