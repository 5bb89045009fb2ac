-- When each live lead reached each funnel stage, and when sales first responded to it.
--   mql:         a touchpoint of an intent type (var('mql_event_types')) at or after
--                creation, or marketing handing it over (status working or nurturing)
--   sql:         sales qualified it (qualified_at) or converted it
--   opportunity: its first live deal was created (or it converted, when it has no deal)
--   won:         its first won deal closed
-- A lead at a later stage has passed the earlier ones: each stage is reached no later than
-- the next, and never before the lead was created.
-- First response: the first outbound email, call or meeting with its contact, or completed
-- task on the lead, at or after creation (else app.leads.first_touch_at, when later than
-- creation).
-- Incremental by lead (macros/written_since_mark.sql): a run recomputes the leads written
-- since its mark, those of the deals and tasks written since, and those of every golden
-- contact whose own row, merge chain, interactions or touchpoints changed since (the
-- contacts written since, a duplicate moved to or from it, its touchpoints (re)linked since
-- the last run). The leads deleted since are dropped by a post-hook; a hard delete of an
-- input row waits for the daily full build.
-- depends_on: {{ ref('int_contacts__merges_tracked') }}
-- depends_on: {{ ref('stg_app__leads') }}
-- depends_on: {{ ref('int_contacts__resolved_to_golden') }}
{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['lead_id'], 'unique': True}, {'columns': ['refreshed_at']}],
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=[
            "delete from {{ this }} where lead_id in (select leads.id from
             {{ source('app', 'leads') }} as leads where {{ written_since_mark('leads') }}
             and leads.deleted_at is not null)",
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with

{% if is_incremental() %}
-- golden contacts whose row, merge chain, interactions or touchpoints changed
changed_contacts (contact_id) as (

    {{ golden_contacts_touched_since_mark([
        "select interactions.contact_id from " ~ source('app', 'interactions')
        ~ " as interactions where " ~ written_since_mark('interactions'),
    ]) }}

),

written_deals as (

    select deals.id, deals.lead_id from {{ source('app', 'sales_pipeline') }} as deals
    where {{ written_since_mark('deals') }}

),

changed (lead_id) as (

    -- one hash of the keys (a union sorted each branch for a merge, reading the leads
    -- written since the mark by their primary key index: every lead, in order)
    select distinct keys.lead_id from (

        select leads.id as lead_id from {{ source('app', 'leads') }} as leads
        where {{ written_since_mark('leads') }}

        union all

        select written_deals.lead_id from written_deals
        where written_deals.lead_id is not null

        union all

        select leads.id from {{ source('app', 'leads') }} as leads
        inner join written_deals on written_deals.id = leads.converted_deal_id

        union all

        select tasks.lead_id from {{ source('app', 'tasks') }} as tasks
        where tasks.lead_id is not null and {{ written_since_mark('tasks') }}

        union all

        -- the leads of those contacts: of the golden record or of a duplicate merged into it
        select leads.id from {{ source('app', 'leads') }} as leads
        where leads.contact_id = any(array(
            {{ members_of('select changed_contacts.contact_id from changed_contacts') }}
        ))

    ) as keys (lead_id)

),
{% endif %}

leads as (

    {% if is_incremental() -%}
    {{ leads_resolved_select('select changed.lead_id from changed') }}
    {%- else -%}
    select * from {{ ref('int_leads__resolved') }}
    {%- endif %}

),

app_leads as (

    select lead_id, first_touch_at, qualified_at from {{ ref('stg_app__leads') }}
    {% if is_incremental() %}where lead_id = any(array(select leads.lead_id from leads)){% endif %}

),

intent_touches as (

    select leads.lead_id, min(touchpoints.occurred_at) as first_intent_at
    from leads
    inner join {{ ref('int_touchpoints__linked_to_contacts') }} as touchpoints
        on touchpoints.contact_id = leads.contact_id
       and touchpoints.occurred_at >= leads.created_at
    where touchpoints.event_type in (
        {%- for t in var('mql_event_types') %}'{{ t }}'{{ ", " if not loop.last }}{% endfor -%}
    )
    group by leads.lead_id

),

-- a lead's deals: those that name it, and the one it converted into (two equi-joins, not
-- one join on an "or", which PostgreSQL can only run as a nested loop)
lead_deals as (

    select leads.lead_id, deals.deal_id, deals.created_at, deals.closed_at, deals.is_won
    from leads
    inner join {{ ref('stg_app__deals') }} as deals
        on deals.lead_id = leads.lead_id
    where not deals.is_deleted
    {% if is_incremental() %}and deals.lead_id = any(array(select keyed.lead_id from leads as keyed)){% endif %}

    union

    select leads.lead_id, deals.deal_id, deals.created_at, deals.closed_at, deals.is_won
    from leads
    inner join {{ ref('stg_app__deals') }} as deals
        on deals.deal_id = leads.converted_deal_id
    where not deals.is_deleted
    {%- if is_incremental() %}
      and deals.deal_id = any(array(select keyed.converted_deal_id from leads as keyed))
    {%- endif %}

),

deal_dates as (

    select
        lead_id,
        min(created_at) as first_deal_at,
        min(closed_at) filter (where is_won) as first_won_at
    from lead_deals
    group by lead_id

),

{% if is_incremental() -%}
-- every contact record that resolves to the leads' golden contacts: a filter on the
-- responses' golden contact does not reach the interactions or the contacts resolved
-- (PostgreSQL resolved and hashed every contact)
lead_contacts as (

    {{ members_of('select leads.contact_id from leads') }}

),

{% endif -%}
responses as (

    select resolved.golden_contact_id as contact_id, interactions.occurred_at
    from {{ ref('stg_app__interactions') }} as interactions
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = interactions.contact_id
    where not interactions.is_deleted
      and (interactions.direction = 'outbound' or interactions.kind in ('call', 'meeting'))
      {%- if is_incremental() %}
      and interactions.contact_id = any(array(select lead_contacts.contact_id from lead_contacts))
      and resolved.contact_id = any(array(select lead_contacts.contact_id from lead_contacts))
      {%- endif %}

),

first_responses as (

    select leads.lead_id, min(responses.occurred_at) as first_response_at
    from leads
    inner join responses
        on responses.contact_id = leads.contact_id
       and responses.occurred_at >= leads.created_at
    group by leads.lead_id

),

first_tasks as (

    select leads.lead_id, min(tasks.completed_at) as first_task_at
    from leads
    inner join {{ ref('stg_app__tasks') }} as tasks
        on tasks.lead_id = leads.lead_id
       and tasks.completed_at >= leads.created_at
    where not tasks.is_deleted
    group by leads.lead_id

),

raw_stages as (

    select
        leads.lead_id,
        leads.created_at,
        deal_dates.first_won_at as won_at,
        coalesce(deal_dates.first_deal_at, leads.converted_at) as opportunity_at,
        least(app_leads.qualified_at, leads.converted_at) as sql_at,
        least(
            intent_touches.first_intent_at,
            case when leads.status in ('working', 'nurturing') then leads.updated_at end
        ) as mql_at,
        case when leads.status = 'disqualified' then leads.closed_at end as disqualified_at,
        least(
            first_responses.first_response_at,
            first_tasks.first_task_at,
            case when app_leads.first_touch_at > leads.created_at
                 then app_leads.first_touch_at end
        ) as first_response_at
    from leads
    left join app_leads on app_leads.lead_id = leads.lead_id
    left join intent_touches on intent_touches.lead_id = leads.lead_id
    left join deal_dates on deal_dates.lead_id = leads.lead_id
    left join first_responses on first_responses.lead_id = leads.lead_id
    left join first_tasks on first_tasks.lead_id = leads.lead_id

),

cascaded as (

    select
        lead_id,
        created_at,
        disqualified_at,
        first_response_at,
        won_at,
        least(opportunity_at, won_at) as opportunity_at,
        least(sql_at, opportunity_at, won_at) as sql_at,
        least(mql_at, sql_at, opportunity_at, won_at) as mql_at
    from raw_stages

)

select
    cascaded.lead_id,
    cascaded.created_at,
    {% for stage in ['mql_at', 'sql_at', 'opportunity_at', 'won_at', 'first_response_at'] -%}
    case when {{ stage }} is not null then greatest({{ stage }}, created_at) end as {{ stage }},
    {% endfor -%}
    cascaded.disqualified_at,
    now() as refreshed_at
from cascaded
