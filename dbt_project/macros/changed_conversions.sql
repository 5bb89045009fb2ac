{#
    The conversions int_attribution__conversions recomputes (its one home, read by its
    select and by its post-hook), by its marks (macros/written_since_mark.sql):
    - the leads whose int_leads__funnel_stages row was written since its last run (that model
      recomputes a lead for every input a conversion row of a lead reads: the lead, its
      deals, its golden contact), and the leads written since (a deleted lead has no row
      there any more);
    - the deals whose fct_deals row was written since its last run (likewise for a won deal's
      row), the deals written since (a deleted deal), and the deals of those leads (the
      lead's creation time).
    A key of these that the run did not write again is no longer a conversion: the post-hook
    drops it, by conversion_id (its index).
#}
{% macro changed_conversion_leads() -%}
    select stages.lead_id from {{ ref('int_leads__funnel_stages') }} as stages
    where {{ written_since_last_run('stages') }}
    union
    select leads.id from {{ source('app', 'leads') }} as leads
    where {{ written_since_mark('leads') }}
{%- endmacro %}

{% macro changed_conversion_deals() -%}
    select deals.deal_id from {{ ref('fct_deals') }} as deals
    where {{ written_since_last_run('deals') }}
    union
    -- a join, not `lead_id = any(array(...))`: a scan of every deal would compare each with
    -- every changed lead (seconds at 1,000,000)
    select deals.deal_id from {{ ref('fct_deals') }} as deals
    inner join ({{ changed_conversion_leads() }}) as changed_leads (lead_id)
        on changed_leads.lead_id = deals.lead_id
    union
    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where {{ written_since_mark('deals') }}
{%- endmacro %}
