-- attribution_by_channel's totals, one row per model x conversion type x channel x campaign
-- x month: the credit (numeric, exact), revenue and credited touchpoints summed over
-- fct_attribution, and the conversions counted (each conversion once per group it has
-- credit in: a converted lead, or a won deal).
-- Incremental by difference: the bench's hourly 1 % touches every month and campaign, so
-- recomputing the groups touched was a rebuild. A run takes the conversions fct_attribution
-- rewrote or dropped since int_attribution__channel_credits last took them in
-- (macros/attribution_channel_credits.sql), subtracts their old credits (held there),
-- adds their new ones, and adds the groups' totals held here: a conversion that moved
-- between channels, campaigns or months, or is gone, leaves its old group. A group left
-- without conversions is deleted by the post-hook. Sums of numerics are exact, so the
-- totals equal a full rebuild's. `dbt build --full-refresh` rebuilds them (with the
-- credits: select `int_attribution__channel_totals+`).
-- depends_on: {{ ref('int_attribution__conversions') }}
{{
    config(
        materialized='incremental',
        unique_key='group_key',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['group_key'], 'unique': True}],
        post_hook=["delete from {{ this }} where conversions = 0"],
    )
}}

{%- set group_columns = 'model, conversion_type, channel, campaign, period' %}
{#- the group, as one key (null campaigns included; the month spelled out, whatever the
    session's DateStyle) #}
{%- set group_key -%}
    md5(row(model, conversion_type, channel, campaign, to_char(period, 'YYYY-MM-DD'))::text)
{%- endset %}
{#- the credits, read before their model updates them (it runs after this one): by name in
    this schema, as a ref would make a cycle #}
{%- set credits = existing_relation('int_attribution__channel_credits') if is_incremental() else none %}

with

{% if credits %}
rewritten as (

    {{ attribution_credits_rewritten(credits) }}

),

-- the rewritten conversions' new credits, less their old ones
changes as (

    select {{ group_columns }}, credit, revenue, touchpoints, 1 as conversions
    from ({{ attribution_channel_credits_select(
        'select rewritten.conversion_id from rewritten') }}) as new_credits

    union all

    select
        {{ group_columns }},
        -credit as credit, -revenue as revenue, -touchpoints as touchpoints, -1 as conversions
    from {{ credits }} as old_credits
    where old_credits.conversion_id = any(array(select rewritten.conversion_id from rewritten))

),

keyed as (

    select {{ group_key }} as group_key, changes.*
    from changes

),

summed as (

    select * from keyed

    union all

    -- the totals held for the groups changed
    select group_key, {{ group_columns }}, credit, revenue, touchpoints, conversions
    from {{ this }} as held
    where held.group_key = any(array(select distinct keyed.group_key from keyed))

)
{% else %}
summed as (

    select
        {{ group_key }} as group_key,
        {{ group_columns }}, credit, revenue, touchpoints, 1 as conversions
    from ({{ attribution_channel_credits_select() }}) as credits

    {% if is_incremental() -%}
    union all

    -- the credits are missing (built apart): every held group is recomputed, zero if gone
    select
        group_key, {{ group_columns }},
        0 as credit, 0 as revenue, 0 as touchpoints, 0 as conversions
    from {{ this }}
    {%- endif %}

)
{% endif %}

select
    group_key,
    {{ group_columns }},
    sum(credit) as credit,
    sum(revenue) as revenue,
    sum(touchpoints)::bigint as touchpoints,
    sum(conversions)::bigint as conversions,
    now() as refreshed_at
from summed
group by group_key, {{ group_columns }}
