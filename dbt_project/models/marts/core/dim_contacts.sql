-- One row per live golden contact: who they are, where they work, who owns them, whether we
-- may market to them, how many source records make them up, and how engaged they are.
-- Incremental by contact (macros/changed_keys.sql): a run recomputes the contacts whose
-- row, account, owner, source records or merged duplicates changed (inputs_hash), and those
-- with a touchpoint (re)linked or an interaction written since the last run.
-- depends_on: {{ ref('int_touchpoints__linked_to_contacts') }}
-- depends_on: {{ ref('stg_app__interactions') }}
{{
    config(
        materialized='incremental',
        unique_key='contact_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        post_hook=["{{ delete_gone_keys('contact_id', ref('stg_app__contacts')
                    ~ ' where not is_deleted and not is_merged') }}"],
    )
}}

with

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

resolved as (

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
    group by resolved.golden_contact_id

),

merged as (

    select golden_contact_id as contact_id, count(*) as merged_contact_count
    from resolved
    where contact_id <> golden_contact_id
    group by golden_contact_id

),

contact_inputs as (

    select
        contacts.contact_id,
        md5(row(
            contacts.*, accounts.account_name, accounts.industry, accounts.country,
            users.full_name, sources.*, merged.*
        )::text) as inputs_hash
    from contacts
    left join accounts on accounts.account_id = contacts.account_id
    left join users on users.user_id = contacts.owner_id
    left join sources on sources.contact_id = contacts.contact_id
    left join merged on merged.contact_id = contacts.contact_id

),

{% if is_incremental() %}
changed as (

    {{ changed_keys('contact_id', 'select contact_id, inputs_hash from contact_inputs', [
        "select contact_id from " ~ ref('int_touchpoints__linked_to_contacts') ~ " where "
        ~ written_since_last_refresh('linked_at', lookback=false),
        "select resolved.golden_contact_id from " ~ ref('stg_app__interactions')
        ~ " as interactions inner join " ~ ref('int_contacts__resolved_to_golden')
        ~ " as resolved on resolved.contact_id = interactions.contact_id where "
        ~ written_since_last_refresh('interactions.updated_at'),
    ]) }}

),
{% endif %}

engagement as (

    select * from {{ ref('int_contacts__engagement_aggregated') }}
    {% if is_incremental() %}where contact_id = any(array(select contact_id from changed)){% endif %}

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
    contact_inputs.inputs_hash,
    now() as refreshed_at
from contacts
inner join contact_inputs on contact_inputs.contact_id = contacts.contact_id
left join accounts on accounts.account_id = contacts.account_id
left join users on users.user_id = contacts.owner_id
left join sources on sources.contact_id = contacts.contact_id
left join merged on merged.contact_id = contacts.contact_id
left join engagement on engagement.contact_id = contacts.contact_id
{% if is_incremental() %}where contacts.contact_id = any(array(select contact_id from changed)){% endif %}
