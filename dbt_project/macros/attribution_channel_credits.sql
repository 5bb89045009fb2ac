{#
    What each conversion gives attribution_by_channel's groups (model x conversion type x
    channel x campaign x month): one row per conversion and group of fct_attribution, with
    the credit in numeric (so that sums and differences of it are exact: a group's total
    minus a conversion's old credit plus its new one equals the group summed afresh), the
    attributed revenue and the credited touchpoints. `conversions`: a select of conversion
    ids, or none for every conversion. One home for int_attribution__channel_credits (what
    the totals hold, by conversion) and the new side of int_attribution__channel_totals'
    delta.
#}
{% macro attribution_channel_credits_select(conversions=none) -%}
    select
        attribution.conversion_id,
        attribution.model,
        attribution.conversion_type,
        attribution.channel,
        attribution.campaign,
        date_trunc('month', attribution.conversion_date)::date as period,
        sum(attribution.credit::numeric) as credit,
        sum(attribution.attributed_revenue) as revenue,
        count(attribution.touchpoint_id) as touchpoints
    from {{ ref('fct_attribution') }} as attribution
    {% if conversions is not none -%}
    where attribution.conversion_id = any(array({{ conversions }}))
    {%- endif %}
    group by
        attribution.conversion_id, attribution.model, attribution.conversion_type,
        attribution.channel, attribution.campaign,
        date_trunc('month', attribution.conversion_date)::date
{%- endmacro %}

{#
    The conversions whose credits differ from those `credits` (int_attribution__channel_credits)
    holds: those fct_attribution rewrote since the credits' newest write, and those gone
    from int_attribution__conversions (fct_attribution drops them too) that the credits
    still hold (by their first_touch row: one per conversion).
#}
{% macro attribution_credits_rewritten(credits) -%}
    select attribution.conversion_id
    from {{ ref('fct_attribution') }} as attribution
    where attribution.attributed_at > (
        select coalesce(max(refreshed_at), '-infinity'::timestamptz) from {{ credits }}
    )
    union
    {{ attribution_credits_gone(credits) }}
{%- endmacro %}

{# The conversions `credits` still holds that are gone from int_attribution__conversions,
   found by their first_touch row (one per conversion). #}
{% macro attribution_credits_gone(credits) -%}
    select held.conversion_id
    from {{ credits }} as held
    where held.model = 'first_touch'
      and not exists (
          select from {{ ref('int_attribution__conversions') }} as live
          where live.conversion_id = held.conversion_id
      )
{%- endmacro %}
