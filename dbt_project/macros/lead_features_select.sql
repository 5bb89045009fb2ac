{#
    The lead_features select (its one home): the view lead_features is this select, and
    fct_leads' incremental run reads it for its changed leads only (`lead_ids`, a select of
    lead ids). The filter is on the leads, their contacts and their engagement (computed
    for those leads, macros/lead_engagement_select.sql): PostgreSQL carries an `= any(...)`
    on the view's output into the leads, not across the joins into the contacts (hashed
    whole) and the engagement counts (computed for every lead).
#}
{% macro lead_features_select(lead_ids=none) -%}
with

leads as (

    {% if lead_ids -%}
    {{ leads_resolved_select(lead_ids) }}
    {%- else -%}
    select * from {{ ref('int_leads__resolved') }}
    {%- endif %}

),

contacts as (

    select * from {{ ref('stg_app__contacts') }}
    {% if lead_ids %}where contact_id = any(array(select leads.contact_id from leads)){% endif %}

),

accounts as (

    -- one account per web domain: the oldest
    select distinct on (domain) *
    from {{ ref('stg_app__accounts') }}
    where domain is not null
    order by domain, created_at, account_id

),

engagement as (

    {% if lead_ids -%}
    {{ lead_engagement_select(lead_ids) }}
    {%- else -%}
    select * from {{ ref('int_leads__engagement_aggregated') }}
    {%- endif %}

),

joined as (

    select
        leads.lead_id,
        leads.contact_id,
        coalesce(leads.account_id, contacts.account_id) as account_id,
        leads.owner_id,
        leads.campaign_id,
        leads.created_at,
        leads.lead_source,
        leads.status,
        leads.company,
        coalesce(leads.title, contacts.title) as title,
        leads.industry,
        leads.employees,
        nullif(split_part(contacts.email_normalized, '@', 2), '') as email_domain,
        coalesce(contacts.has_phone, false) as has_phone,
        engagement.touchpoints_before_creation,
        engagement.touchpoints_30d_after_creation,
        engagement.email_opens,
        engagement.email_clicks,
        engagement.form_fills,
        engagement.inbound_emails,
        leads.is_converted,
        leads.converted_at,
        leads.is_closed,
        leads.closed_at
    from leads
    left join contacts on contacts.contact_id = leads.contact_id
    left join engagement on engagement.lead_id = leads.lead_id

)

select
    joined.lead_id::bigint as lead_id,
    joined.contact_id::bigint as contact_id,
    joined.account_id::bigint as account_id,
    joined.owner_id::bigint as owner_id,
    joined.campaign_id::bigint as campaign_id,
    joined.created_at::timestamptz as created_at,
    joined.lead_source::text as lead_source,
    joined.status::text as status,
    coalesce(joined.company, accounts.account_name)::text as company,
    joined.title::text as title,
    coalesce(joined.industry, accounts.industry)::text as industry,
    coalesce(joined.employees, accounts.employees)::integer as employees,
    accounts.country::text as country,
    joined.email_domain::text as email_domain,
    (joined.email_domain in (
        {%- for domain in var('free_email_domains') %}
        '{{ domain }}'{{ "," if not loop.last }}
        {%- endfor %}
    ))::boolean as is_free_email,
    joined.has_phone::boolean as has_phone,
    coalesce(joined.touchpoints_before_creation, 0)::integer as touchpoints_before_creation,
    coalesce(joined.touchpoints_30d_after_creation, 0)::integer
        as touchpoints_30d_after_creation,
    coalesce(joined.email_opens, 0)::integer as email_opens,
    coalesce(joined.email_clicks, 0)::integer as email_clicks,
    coalesce(joined.form_fills, 0)::integer as form_fills,
    coalesce(joined.inbound_emails, 0)::integer as inbound_emails,
    joined.is_converted::boolean as is_converted,
    joined.converted_at::timestamptz as converted_at,
    joined.is_closed::boolean as is_closed,
    joined.closed_at::timestamptz as closed_at
from joined
-- Firmographics come from the lead itself, or from an account found by the lead's email
-- domain that existed before the lead did. Never from the lead's own account_id: that
-- link is made when the lead converts, so it would tell the model the outcome.
left join accounts
    on accounts.domain = joined.email_domain
    and accounts.created_at <= joined.created_at
    and not joined.email_domain in (
        {%- for domain in var('free_email_domains') %}
        '{{ domain }}'{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
