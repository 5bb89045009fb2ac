{#
    Converted live leads with their revenue (int_leads__converted_with_revenue, its one
    home), all of them or `lead_ids` only (a select of lead ids: int_attribution__conversions'
    changed leads), whose leads are then resolved for their own contacts only
    (macros/leads_resolved_select.sql) and whose revenue sums their won deals only.
#}
{% macro converted_leads_select(lead_ids=none) -%}
with

converted as (

    select lead_id, contact_id, converted_at
    {% if lead_ids -%}
    from ({{ leads_resolved_select(lead_ids) }}) as resolved
    {%- else -%}
    from {{ ref('int_leads__resolved') }}
    {%- endif %}
    where is_converted
      and converted_at is not null

),

won_deals as (

    select deals.deal_id, deals.lead_id, deals.amount * rates.rate_to_reporting as amount
    from {{ ref('stg_app__deals') }} as deals
    left join {{ ref('currency_rates') }} as rates on rates.currency = upper(deals.currency)
    where deals.is_won
      and not deals.is_deleted

),

lead_deals as (

    select leads.lead_id, won_deals.deal_id, won_deals.amount
    from {{ ref('stg_app__leads') }} as leads
    inner join won_deals on won_deals.deal_id = leads.converted_deal_id
    {% if lead_ids %}where leads.lead_id = any(array(select converted.lead_id from converted)){% endif %}

    union

    select won_deals.lead_id, won_deals.deal_id, won_deals.amount
    from won_deals
    where won_deals.lead_id is not null
    {% if lead_ids %}and won_deals.lead_id = any(array(select converted.lead_id from converted)){% endif %}

),

revenue as (

    select lead_id, coalesce(sum(amount), 0) as revenue, count(*) as won_deals
    from lead_deals
    group by lead_id

)

select
    converted.lead_id,
    converted.contact_id,
    converted.converted_at,
    converted.converted_at::date as conversion_date,
    coalesce(revenue.revenue, 0)::numeric(16, 2) as revenue,
    coalesce(revenue.won_deals, 0)::integer as won_deals
from converted
left join revenue using (lead_id)
{%- endmacro %}
