-- One row per live golden contact: who they are, where they work, who owns them, whether we
-- may market to them, how many source records make them up, and how engaged they are.
-- Incremental by contact (macros/written_since_mark.sql): a run recomputes the golden
-- records of the contacts written since its mark (their own row, a merge, a deletion), of
-- their source records and interactions written since, of the contacts of an account or an
-- owner written since, of a duplicate moved to or from them (int_contacts__merges_tracked)
-- and of the touchpoints (re)linked since the last run. The contacts deleted or merged
-- since are dropped by a post-hook; a hard delete of an input row waits for the daily
-- full build.
-- depends_on: {{ ref('int_touchpoints__linked_to_contacts') }}
-- depends_on: {{ ref('int_contacts__merges_tracked') }}
{{
    config(
        materialized='incremental',
        unique_key='contact_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=[
            "delete from {{ this }} where contact_id in (select contacts.id from
             {{ source('app', 'contacts') }} as contacts where {{ written_since_mark('contacts') }}
             and (contacts.deleted_at is not null or contacts.merged_into_id is not null))",
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with

{% if is_incremental() %}
changed (contact_id) as (

    {{ golden_contacts_touched_since_mark([
        "select contact_sources.contact_id from " ~ source('app', 'contact_sources')
        ~ " as contact_sources where " ~ written_since_mark('contact_sources'),
        "select interactions.contact_id from " ~ source('app', 'interactions')
        ~ " as interactions where " ~ written_since_mark('interactions'),
        "select contacts.id from " ~ source('app', 'contacts') ~ " as contacts where"
        ~ " contacts.account_id = any(array(select accounts.id from " ~ source('app', 'accounts')
        ~ " as accounts where " ~ written_since_mark('accounts') ~ "))",
        "select contacts.id from " ~ source('app', 'contacts') ~ " as contacts where"
        ~ " contacts.owner_id = any(array(select users.id from " ~ source('app', 'users')
        ~ " as users where " ~ written_since_mark('users') ~ "))",
    ]) }}

),
{% endif %}

contacts as (

    select * from {{ ref('stg_app__contacts') }}
    where not is_deleted
      and not is_merged

),

accounts as (

    select * from {{ ref('stg_app__accounts') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

-- not materialized: read twice, it would otherwise be computed for every contact before the
-- changed keys' filter
resolved as not materialized (

    select * from {{ ref('int_contacts__resolved_to_golden') }}

),

-- lineage of the golden record and of every duplicate merged into it
sources as (

    select
        resolved.golden_contact_id as contact_id,
        count(*) as source_record_count,
        count(distinct contact_sources.source) as source_count,
        array_agg(distinct contact_sources.source order by contact_sources.source) as sources
    from {{ ref('stg_app__contact_sources') }} as contact_sources
    inner join resolved on resolved.contact_id = contact_sources.contact_id
    {% if is_incremental() -%}
    where resolved.golden_contact_id = any(array(select changed.contact_id from changed))
    {% endif -%}
    group by resolved.golden_contact_id

),

merged as (

    select golden_contact_id as contact_id, count(*) as merged_contact_count
    from resolved
    where contact_id <> golden_contact_id
    {% if is_incremental() -%}
    and golden_contact_id = any(array(select changed.contact_id from changed))
    {% endif -%}
    group by golden_contact_id

),

engagement as (

    select * from {{ ref('int_contacts__engagement_aggregated') }}
    {% if is_incremental() %}where contact_id = any(array(select changed.contact_id from changed)){% endif %}

)

select
    contacts.contact_id,
    contacts.first_name,
    contacts.last_name,
    contacts.full_name,
    contacts.email,
    contacts.email_normalized,
    split_part(contacts.email_normalized, '@', 2) as email_domain,
    contacts.has_phone,
    contacts.title,
    contacts.account_id,
    accounts.account_name,
    accounts.industry as account_industry,
    accounts.country as account_country,
    contacts.owner_id,
    users.full_name as owner_name,
    contacts.lifecycle_stage,
    contacts.marketing_consent,
    contacts.consent_at,
    contacts.email_opt_out,
    (coalesce(contacts.marketing_consent, false) and not contacts.email_opt_out)
        as can_email_marketing,
    contacts.first_source,
    coalesce(sources.source_count, 0)::integer as source_count,
    coalesce(sources.source_record_count, 0)::integer as source_record_count,
    coalesce(sources.sources, array[]::text[]) as sources,
    coalesce(merged.merged_contact_count, 0)::integer as merged_contact_count,
    coalesce(engagement.touchpoint_count, 0)::integer as touchpoint_count,
    engagement.first_touch_at,
    engagement.last_touch_at,
    engagement.last_touch_channel,
    coalesce(engagement.interaction_count, 0)::integer as interaction_count,
    coalesce(engagement.inbound_emails, 0)::integer as inbound_emails,
    coalesce(engagement.outbound_emails, 0)::integer as outbound_emails,
    coalesce(engagement.meetings, 0)::integer as meetings,
    coalesce(engagement.calls, 0)::integer as calls,
    engagement.last_interaction_at,
    greatest(engagement.last_touch_at, engagement.last_interaction_at) as last_activity_at,
    contacts.created_at,
    contacts.updated_at,
    now() as refreshed_at
from contacts
left join accounts on accounts.account_id = contacts.account_id
left join users on users.user_id = contacts.owner_id
left join sources on sources.contact_id = contacts.contact_id
left join merged on merged.contact_id = contacts.contact_id
left join engagement on engagement.contact_id = contacts.contact_id
{% if is_incremental() %}where contacts.contact_id = any(array(select changed.contact_id from changed)){% endif %}
