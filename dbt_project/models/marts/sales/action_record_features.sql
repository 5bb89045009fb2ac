-- The next-best-action model's records: one row per lead and per deal (soft-deleted ones
-- too, closed at their last update: their past weeks are history to learn from). A record
-- is known from created_at and closed from closed_at. Amount and the contact's consent
-- (opted_out, no_marketing) are today's: the rules apply them to what may be done now.
with

leads as (

    select * from {{ ref('stg_app__leads') }}

),

deals as (

    select * from {{ ref('stg_app__deals') }}

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

contacts as (

    select * from {{ ref('stg_app__contacts') }}

),

lead_records as (

    select
        'lead:' || leads.lead_id as record,
        'lead' as kind,
        leads.lead_id,
        null::bigint as deal_id,
        leads.created_at,
        case
            when leads.status in ('converted', 'disqualified') or leads.is_deleted
                then coalesce(leads.converted_at, leads.updated_at)
        end as closed_at,
        null::numeric as amount,
        contacts.contact_id is not null as has_contact,
        coalesce(contacts.email_opt_out, false) as opted_out,
        coalesce(contacts.marketing_consent = false, false) as no_marketing
    from leads
    left join contacts on contacts.contact_id = leads.contact_id

),

deal_records as (

    select
        'deal:' || deals.deal_id as record,
        'deal' as kind,
        null::bigint as lead_id,
        deals.deal_id,
        deals.created_at,
        case
            when stages.is_closed or deals.is_deleted
                then coalesce(deals.closed_at, deals.updated_at)
        end as closed_at,
        deals.amount,
        contacts.contact_id is not null as has_contact,
        coalesce(contacts.email_opt_out, false) as opted_out,
        coalesce(contacts.marketing_consent = false, false) as no_marketing
    from deals
    inner join stages on stages.stage_id = deals.stage_id
    left join contacts on contacts.contact_id = deals.contact_id

)

select * from lead_records
union all
select * from deal_records
