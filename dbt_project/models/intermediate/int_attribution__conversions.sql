-- What attribution credits: every converted live lead (conversion_type 'lead', credited
-- with the won revenue it brought) and every won live deal that closed within
-- var('attribution_conversion_window_days') of its creation ('deal_won', credited with its
-- amount). Each carries the moments the W-shaped model keys on: when the lead was created
-- and when the opportunity was. Revenue is in the reporting currency.
-- Incremental by conversion (macros/changed_keys.sql): a conversion's row is cheap to
-- compute, so its fingerprint is the row itself, and a run writes the conversions whose
-- row differs from the one held; fct_attribution follows them by their content.
{%- set won_in_window -%}
    is_won and closed_at is not null
    and closed_at <= created_at + interval '{{ var("attribution_conversion_window_days") | int }} days'
{%- endset %}
{{
    config(
        materialized='incremental',
        unique_key='conversion_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['conversion_id'], 'unique': True}],
        post_hook=[
            "delete from {{ this }} as held where not exists (select from ("
            ~ "select 'lead-' || lead_id as conversion_id"
            ~ " from {{ ref('int_leads__converted_with_revenue') }}"
            ~ " union all select 'deal-' || deal_id from {{ ref('fct_deals') }} where "
            ~ won_in_window ~ ") as live where live.conversion_id = held.conversion_id)",
        ],
    )
}}

with

converted_leads as (

    select * from {{ ref('int_leads__converted_with_revenue') }}

),

leads as (

    select lead_id, created_at from {{ ref('int_leads__resolved') }}

),

stages as (

    select lead_id, opportunity_at from {{ ref('int_leads__funnel_stages') }}

),

won_deals as (

    select * from {{ ref('fct_deals') }}
    where {{ won_in_window }}

),

conversions as (

    select
        'lead' as conversion_type,
        'lead-' || converted_leads.lead_id as conversion_id,
        converted_leads.lead_id,
        null::bigint as deal_id,
        converted_leads.contact_id,
        converted_leads.converted_at,
        converted_leads.conversion_date,
        converted_leads.revenue::numeric(18, 2) as revenue,
        leads.created_at as lead_created_at,
        stages.opportunity_at as opportunity_created_at
    from converted_leads
    left join leads on leads.lead_id = converted_leads.lead_id
    left join stages on stages.lead_id = converted_leads.lead_id

    union all

    select
        'deal_won' as conversion_type,
        'deal-' || won_deals.deal_id as conversion_id,
        won_deals.lead_id,
        won_deals.deal_id,
        won_deals.contact_id,
        won_deals.closed_at as converted_at,
        won_deals.closed_at::date as conversion_date,
        coalesce(won_deals.amount_reporting, 0)::numeric(18, 2) as revenue,
        leads.created_at as lead_created_at,
        won_deals.created_at as opportunity_created_at
    from won_deals
    left join leads on leads.lead_id = won_deals.lead_id

){% if is_incremental() %},

changed as (

    {{ changed_keys('conversion_id',
                           'select conversion_id, md5(conversions::text) as inputs_hash'
                           ~ ' from conversions') }}

){% endif %}

select
    conversions.*,
    md5(conversions::text) as inputs_hash,
    now() as refreshed_at
from conversions
{% if is_incremental() %}where conversion_id = any(array(select conversion_id from changed)){% endif %}
