-- What attribution credits: every converted live lead (conversion_type 'lead', credited
-- with the won revenue it brought) and every won live deal that closed within
-- var('attribution_conversion_window_days') of its creation ('deal_won', credited with its
-- amount). Each carries the moments the W-shaped model keys on: when the lead was created
-- and when the opportunity was. Revenue is in the reporting currency.
-- Incremental by conversion (macros/changed_conversions.sql): a run recomputes the
-- conversions of the leads and deals whose upstream rows were written since its mark, and
-- a post-hook drops those of them that are no longer conversions; fct_attribution follows
-- them by their content.
{%- set won_in_window -%}
    is_won and closed_at is not null
    and closed_at <= created_at + interval '{{ var("attribution_conversion_window_days") | int }} days'
{%- endset %}
-- depends_on: {{ ref('stg_app__leads') }}
-- depends_on: {{ ref('stg_app__deals') }}
-- depends_on: {{ ref('currency_rates') }}
-- depends_on: {{ ref('int_contacts__resolved_to_golden') }}
{{
    config(
        materialized='incremental',
        unique_key='conversion_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['conversion_id'], 'unique': True}],
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=[
            "delete from {{ this }} as held where held.refreshed_at < now()
             and held.conversion_id = any(array(
                 select 'lead-' || changed_leads.lead_id
                 from ({{ changed_conversion_leads() }}) as changed_leads (lead_id)
                 union all
                 select 'deal-' || changed_deals.deal_id
                 from ({{ changed_conversion_deals() }}) as changed_deals (deal_id)))",
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with

converted_leads as (

    {% if is_incremental() -%}
    {{ converted_leads_select(changed_conversion_leads()) }}
    {%- else -%}
    select * from {{ ref('int_leads__converted_with_revenue') }}
    {%- endif %}

),

won_deals as (

    select * from {{ ref('fct_deals') }}
    where {{ won_in_window }}
    {% if is_incremental() -%}
    and deal_id = any(array({{ changed_conversion_deals() }}))
    {%- endif %}

),

leads as (

    {% if is_incremental() -%}
    select resolved.lead_id, resolved.created_at
    from ({{ leads_resolved_select('select converted_leads.lead_id from converted_leads
        union all select won_deals.lead_id from won_deals') }}) as resolved
    {%- else -%}
    select lead_id, created_at from {{ ref('int_leads__resolved') }}
    {%- endif %}

),

stages as (

    select lead_id, opportunity_at from {{ ref('int_leads__funnel_stages') }}
    {% if is_incremental() -%}
    where lead_id = any(array(select converted_leads.lead_id from converted_leads))
    {%- endif %}

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

)

select
    conversions.*,
    now() as refreshed_at
from conversions
