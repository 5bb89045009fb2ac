{#
    The engagement counts per live lead (int_leads__engagement_aggregated, its one home),
    of every lead or of `lead_ids` only (a select of lead ids: fct_leads' incremental run,
    through macros/lead_features_select.sql). With lead_ids the streams are read for the
    leads' contacts only: a filter on the counts' lead_id alone does not reach them, and
    PostgreSQL sorted every contact's touchpoints and emails for a merge join (1.5 s of
    fct_leads' 2.3 s select for 3,000 leads at 300,000 contacts).
#}
{% macro lead_engagement_select(lead_ids=none) -%}
with

leads as (

    {% if lead_ids -%}
    select resolved.lead_id, resolved.contact_id, resolved.created_at, resolved.closed_at
    from ({{ leads_resolved_select(lead_ids) }}) as resolved
    {%- else -%}
    select lead_id, contact_id, created_at, closed_at from {{ ref('int_leads__resolved') }}
    {%- endif %}

),
{%- if lead_ids %}

-- every contact record that resolves to the leads' golden contacts (their interactions)
lead_contacts as (

    {{ members_of('select leads.contact_id from leads') }}

),
{%- endif %}

-- both streams in one, so that a lead's counts are one aggregation grouped by the lead: a
-- filter on lead_id (an incremental model's changed keys) then reaches the leads first and
-- the streams through their contact index, instead of every lead's counts being computed
streams as (

    select contact_id, event_type, occurred_at, 'touchpoint' as stream
    from {{ ref('int_touchpoints__linked_to_contacts') }}
    where contact_id is not null
      and occurred_at is not null
      {%- if lead_ids %}
      and contact_id = any(array(select leads.contact_id from leads))
      {%- endif %}

    union all

    select
        resolved.golden_contact_id as contact_id,
        null as event_type,
        interactions.occurred_at,
        'inbound_email' as stream
    from {{ ref('stg_app__interactions') }} as interactions
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = interactions.contact_id
    where interactions.kind = 'email'
      and interactions.direction = 'inbound'
      and not interactions.is_deleted
      {%- if lead_ids %}
      and interactions.contact_id = any(array(select lead_contacts.contact_id from lead_contacts))
      and resolved.contact_id = any(array(select lead_contacts.contact_id from lead_contacts))
      {%- endif %}

),

counts as (

    select
        leads.lead_id,
        count(*) filter (
            where streams.stream = 'touchpoint'
              and streams.occurred_at < leads.created_at
        ) as touchpoints_before_creation,
        count(*) filter (
            where streams.stream = 'touchpoint'
              and streams.occurred_at >= leads.created_at
              and streams.occurred_at < leads.created_at
                  + interval '{{ var("lead_engagement_window_days") }} days'
        ) as touchpoints_30d_after_creation,
        {% for event_type in ['email_open', 'email_click', 'form_fill'] -%}
        count(*) filter (
            where streams.stream = 'touchpoint'
              and streams.event_type = '{{ event_type }}'
              and (leads.closed_at is null or streams.occurred_at <= leads.closed_at)
        ) as {{ event_type }}s,
        {% endfor -%}
        count(*) filter (
            where streams.stream = 'inbound_email'
              and (leads.closed_at is null or streams.occurred_at <= leads.closed_at)
        ) as inbound_emails
    from leads
    left join streams on streams.contact_id = leads.contact_id
    group by leads.lead_id

)

select
    lead_id,
    touchpoints_before_creation::integer as touchpoints_before_creation,
    touchpoints_30d_after_creation::integer as touchpoints_30d_after_creation,
    email_opens::integer as email_opens,
    email_clicks::integer as email_clicks,
    form_fills::integer as form_fills,
    inbound_emails::integer as inbound_emails
from counts
{%- endmacro %}
