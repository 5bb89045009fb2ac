-- Attributed conversions and revenue per model, conversion type, channel, campaign and
-- month of conversion: the long table that compares attribution models side by side. The
-- data-driven models of ml write the same shape (CONTRACTS.md).
-- A table over int_attribution__channel_totals (kept up to date by difference, one row per
-- group): rebuilt at every run, it reads a few thousand rows, not fct_attribution. A
-- group's converted leads (its lead conversions) and won deals (its deal conversions) are
-- the conversions counted there: each lead conversion is one lead, each won deal one deal.
-- Indexed on the columns dashboards filter by.
{{
    config(
        materialized='table',
        indexes=[
            {'columns': ['period']},
            {'columns': ['campaign']},
        ],
    )
}}

select
    model,
    conversion_type,
    channel,
    campaign,
    period,
    credit::double precision as conversions,
    round(revenue, 2)::numeric(16, 2) as revenue,
    (case when conversion_type = 'lead' then conversions else 0 end)::integer as converted_leads,
    (case when conversion_type = 'deal_won' then conversions else 0 end)::integer as won_deals,
    touchpoints::integer as credited_touchpoints
from {{ ref('int_attribution__channel_totals') }}
