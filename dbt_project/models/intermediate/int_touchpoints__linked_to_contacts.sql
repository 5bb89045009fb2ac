-- Touchpoint events linked to live golden contacts: by normalized email (the contact-matching
-- rule, app.normalize_email), else through an anonymous_id that the same visitor used on an
-- identified event, when that anonymous_id points to exactly one contact.
-- Incremental (the event log grows without end; fct_touchpoints and both engagement models
-- read it). A run relinks only the events whose link can have changed:
--   - events loaded since the newest it holds (less var('incremental_lookback_hours')):
--     new and late-arriving touchpoints;
--   - events of an email whose contact may have changed: the emails, now and as held, of
--     the contacts written since the model's mark (macros/written_since_mark.sql: created,
--     edited, merged, deleted) and of every contact in their merge chains, and of a
--     duplicate moved to or from another golden record (int_contacts__merges_tracked);
--   - every event of an anonymous_id that one of those carries, as the visitor's stitching
--     may change with them.
-- Each relinked row gets the run's time in linked_at, which fct_touchpoints follows.
-- `dbt build --full-refresh` links every event again.
-- depends_on: {{ ref('int_contacts__merges_tracked') }}
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=["{{ commit_xid_mark() }}"],
        indexes=[
            {'columns': ['event_id'], 'unique': True},
            {'columns': ['contact_id', 'occurred_at']},
            {'columns': ['email_normalized']},
            {'columns': ['linked_at']},
            {'columns': ['loaded_at']},
        ],
    )
}}

with

{% if is_incremental() %}
new_events as (

    select source_key, email_normalized, anonymous_id
    from {{ ref('stg_touchpoints__events') }}
    where loaded_at > (
        select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }}
    ) - interval '{{ var("incremental_lookback_hours") | int }} hours'

),

-- golden records whose contacts, or their emails, may have changed since the mark
relinked_goldens (golden_contact_id) as (

    {{ goldens_of(contacts_written_since_mark()) }}

    union

    {{ goldens_of_merges_changed_since(
        "(select coalesce(max(linked_at), '-infinity'::timestamptz) from " ~ this ~ ")") }}

),

-- their contacts' emails now, and the emails held linked to them (an email edited away)
relinked_emails (email_normalized) as (

    select contacts.email_normalized from {{ ref('stg_app__contacts') }} as contacts
    where contacts.contact_id = any(array(
        {{ members_of('select relinked_goldens.golden_contact_id from relinked_goldens') }}
    ))
      and contacts.email_normalized is not null

    union

    select linked.email_normalized from {{ this }} as linked
    where linked.contact_id = any(array(select relinked_goldens.golden_contact_id from relinked_goldens))
      and linked.email_normalized is not null

),

relinked_anonymous_ids (anonymous_id) as (

    select new_events.anonymous_id from new_events
    where new_events.anonymous_id is not null

    union

    select linked.anonymous_id
    from {{ this }} as linked
    where linked.email_normalized = any(array(
        select relinked_emails.email_normalized from relinked_emails
    ))
      and linked.anonymous_id is not null

),

-- `= any(array(...))` rather than joins: the events' indexes on the email, the
-- anonymous id and the key, whatever the planner guesses of the lists' lengths
relinked (source_key) as (

    select new_events.source_key from new_events

    union

    select stg.source_key
    from {{ ref('stg_touchpoints__events') }} as stg
    where stg.email_normalized = any(array(
        select relinked_emails.email_normalized from relinked_emails
    ))

    union

    select stg.source_key
    from {{ ref('stg_touchpoints__events') }} as stg
    where stg.anonymous_id = any(array(
        select relinked_anonymous_ids.anonymous_id from relinked_anonymous_ids
    ))

),

events as (

    select stg.*
    from {{ ref('stg_touchpoints__events') }} as stg
    where stg.source_key = any(array(select relinked.source_key from relinked))

),
{% else %}
events as (

    select * from {{ ref('stg_touchpoints__events') }}

),
{% endif %}

-- the live contacts with an email (in an incremental run, only those of the relinked
-- events' emails: one scan of the contacts, a semi-join)
email_contacts as (

    select contacts.contact_id, contacts.email_normalized
    from {{ ref('stg_app__contacts') }} as contacts
    where contacts.email_normalized is not null
      and not contacts.is_deleted
      {% if is_incremental() -%}
      and contacts.email_normalized in (
          select events.email_normalized from events
          where events.email_normalized is not null
      )
      {%- endif %}

),

contacts as (

    select
        email_contacts.contact_id,
        email_contacts.email_normalized,
        resolved.golden_contact_id
    from email_contacts
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = email_contacts.contact_id
    where resolved.is_golden_live
      {% if is_incremental() -%}
      -- the key filter reaches the contacts' primary key inside the view (a join alone
      -- resolved every contact)
      and resolved.contact_id = any(array(select relinked_contacts.contact_id
                                          from email_contacts as relinked_contacts))
      {%- endif %}

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
        by_email.loaded_at,
        now() as linked_at
    from by_email
    left join anonymous_to_contact using (anonymous_id)

)

select * from linked
