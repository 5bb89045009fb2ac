-- Attributed conversions and revenue per model, conversion type, channel, campaign and
-- month of conversion: the long table that compares attribution models side by side. The
-- data-driven models of ml write the same shape (CONTRACTS.md).
-- Indexed on the columns dashboards filter by.
{{
    config(
        indexes=[
            {'columns': ['period']},
            {'columns': ['campaign']},
        ],
    )
}}

with

attribution as (

    select * from {{ ref('fct_attribution') }}

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
