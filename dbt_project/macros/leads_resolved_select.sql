{#
    The live leads resolved (int_leads__resolved, its one home), all of them or `lead_ids`
    only (a select of lead ids: the incremental models' changed leads). With lead_ids the
    contacts are resolved for those leads' contacts only: a filter on the view's lead_id
    reaches the leads, not the join to int_contacts__resolved_to_golden, which PostgreSQL
    then computed and hashed for every contact (0.15-0.6 s a read at 300,000 contacts).
#}
{% macro leads_resolved_select(lead_ids=none) -%}
with

leads as (

    select * from {{ ref('stg_app__leads') }}
    where not is_deleted
    {% if lead_ids %}and lead_id = any(array({{ lead_ids }})){% endif %}

),

resolved_contacts as (

    select * from {{ ref('int_contacts__resolved_to_golden') }}
    {% if lead_ids %}where contact_id = any(array(select leads.contact_id from leads)){% endif %}

),

derived as (

    select
        leads.*,
        case when resolved_contacts.is_golden_live
             then resolved_contacts.golden_contact_id end as golden_contact_id,
        (leads.status = 'converted' or leads.converted_at is not null) as is_converted,
        -- a lead marked converted without a time: the last change is the best we know
        coalesce(leads.converted_at,
                 case when leads.status = 'converted' then leads.updated_at end)
            as converted_at_derived
    from leads
    left join resolved_contacts on resolved_contacts.contact_id = leads.contact_id

)

select
    lead_id,
    golden_contact_id as contact_id,
    contact_id as original_contact_id,
    account_id,
    owner_id,
    campaign_id,
    converted_deal_id,
    company,
    title,
    industry,
    employees,
    status,
    lead_source,
    utm,
    source,
    source_key,
    disqualified_reason,
    created_at,
    updated_at,
    is_converted,
    case when is_converted then converted_at_derived end as converted_at,
    (is_converted or status = 'disqualified') as is_closed,
    case
        when is_converted then converted_at_derived
        when status = 'disqualified' then updated_at
    end as closed_at
from derived
{%- endmacro %}
