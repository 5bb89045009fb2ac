-- Attributed conversions and revenue per model, channel, campaign and month of conversion.
with

attribution as (

    select * from {{ ref('fct_attribution') }}

)

select
    model,
    channel,
    campaign,
    date_trunc('month', conversion_date)::date as period,
    sum(credit)::double precision as conversions,
    round(sum(attributed_revenue), 2)::numeric(16, 2) as revenue,
    count(distinct lead_id)::integer as converted_leads,
    count(touchpoint_id)::integer as credited_touchpoints
from attribution
group by model, channel, campaign, date_trunc('month', conversion_date)::date
