-- Live leads with their golden contact resolved and their outcome derived, once, for every
-- mart that needs "is this lead converted / closed, and when".
with

leads as (

    select * from {{ ref('stg_app__leads') }}
    where not is_deleted

),

resolved_contacts as (

    select * from {{ ref('int_contacts__resolved_to_golden') }}

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
