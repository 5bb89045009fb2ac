-- Touchpoint events linked to live golden contacts: by normalized email (the contact-matching
-- rule, app.normalize_email), else through an anonymous_id that the same visitor used on an
-- identified event, when that anonymous_id points to exactly one contact.
-- A table, not a view: fct_touchpoints and both engagement models read it.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['contact_id', 'occurred_at']}],
    )
}}

with

events as (

    select * from {{ ref('stg_touchpoints__events') }}

),

contacts as (

    select
        contacts.contact_id,
        contacts.email_normalized,
        resolved.golden_contact_id
    from {{ ref('stg_app__contacts') }} as contacts
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = contacts.contact_id
    where contacts.email_normalized is not null
      and not contacts.is_deleted
      and resolved.is_golden_live

),

-- One golden contact per email: the live contact with that email wins over merged duplicates.
email_to_contact as (

    select distinct on (email_normalized)
        email_normalized,
        golden_contact_id as contact_id
    from contacts
    order by email_normalized, (contact_id = golden_contact_id) desc, contact_id

),

by_email as (

    select
        events.*,
        email_to_contact.contact_id as email_contact_id
    from events
    left join email_to_contact using (email_normalized)

),

anonymous_to_contact as (

    select
        anonymous_id,
        min(email_contact_id) as contact_id
    from by_email
    where anonymous_id is not null
      and email_contact_id is not null
    group by anonymous_id
    having count(distinct email_contact_id) = 1

),

linked as (

    select
        by_email.event_id,
        by_email.event_type,
        by_email.occurred_at,
        by_email.anonymous_id,
        by_email.email_normalized,
        coalesce(by_email.email_contact_id, anonymous_to_contact.contact_id) as contact_id,
        case
            when by_email.email_contact_id is not null then 'email'
            when anonymous_to_contact.contact_id is not null then 'anonymous_id'
        end as link_method,
        by_email.channel,
        by_email.campaign_name,
        by_email.utm_source,
        by_email.utm_medium,
        by_email.utm_campaign,
        by_email.utm_content,
        by_email.utm_term,
        by_email.page_url,
        by_email.referrer,
        by_email.cost,
        by_email.loaded_at
    from by_email
    left join anonymous_to_contact using (anonymous_id)

)

select * from linked
