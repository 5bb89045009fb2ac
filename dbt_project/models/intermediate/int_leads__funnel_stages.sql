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
-- Incremental by lead (macros/changed_keys.sql): a run recomputes the leads whose own
-- row, deals, tasks or merged contacts changed (inputs_hash), and those whose contact got a
-- touchpoint (re)linked or an interaction written since the last run.
{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[{'columns': ['lead_id'], 'unique': True}, {'columns': ['refreshed_at']}],
        post_hook=["{{ delete_gone_keys('lead_id', ref('int_leads__resolved')) }}"],
    )
}}

with

-- what a lead's stages depend on, apart from the touchpoint and interaction streams: its
-- row, its deals, its tasks and the contacts merged into its contact
input_deals as (

    select lead_id, array_agg(row(deal_id, created_at, closed_at, is_won, is_deleted)
                              order by deal_id) as deals
    from (
        select lead_id, deal_id, created_at, closed_at, is_won, is_deleted
        from {{ ref('stg_app__deals') }}
        where lead_id is not null

        union

        select app_leads.lead_id, deals.deal_id, deals.created_at, deals.closed_at,
               deals.is_won, deals.is_deleted
        from {{ ref('stg_app__leads') }} as app_leads
        inner join {{ ref('stg_app__deals') }} as deals
            on deals.deal_id = app_leads.converted_deal_id
    ) as lead_deal_rows
    group by lead_id

),

input_tasks as (

    select lead_id, array_agg(row(task_id, completed_at, is_deleted) order by task_id) as tasks
    from {{ ref('stg_app__tasks') }}
    where lead_id is not null
    group by lead_id

),

input_members as (

    select golden_contact_id, array_agg(contact_id order by contact_id) as members
    from {{ ref('int_contacts__resolved_to_golden') }}
    group by golden_contact_id

),

lead_inputs as (

    select
        resolved.lead_id,
        md5(row(
            resolved.*, app_leads.first_touch_at, app_leads.qualified_at,
            input_deals.deals, input_tasks.tasks, input_members.members
        )::text) as inputs_hash
    from {{ ref('int_leads__resolved') }} as resolved
    left join {{ ref('stg_app__leads') }} as app_leads on app_leads.lead_id = resolved.lead_id
    left join input_deals on input_deals.lead_id = resolved.lead_id
    left join input_tasks on input_tasks.lead_id = resolved.lead_id
    left join input_members on input_members.golden_contact_id = resolved.contact_id

),

leads as (

    select * from {{ ref('int_leads__resolved') }}
    {% if is_incremental() %}
    where lead_id = any(array({{ changed_keys('lead_id', 'select lead_id, inputs_hash from lead_inputs', [
        "select leads.lead_id from " ~ ref('int_leads__resolved') ~ " as leads inner join "
        ~ ref('int_touchpoints__linked_to_contacts') ~ " as touchpoints"
        ~ " on touchpoints.contact_id = leads.contact_id where "
        ~ written_since_last_refresh('touchpoints.linked_at', lookback=false),
        "select leads.lead_id from " ~ ref('int_leads__resolved') ~ " as leads inner join "
        ~ ref('int_contacts__resolved_to_golden') ~ " as resolved"
        ~ " on resolved.golden_contact_id = leads.contact_id inner join "
        ~ ref('stg_app__interactions') ~ " as interactions"
        ~ " on interactions.contact_id = resolved.contact_id where "
        ~ written_since_last_refresh('interactions.updated_at'),
    ]) }}))
    {% endif %}

),

app_leads as (

    select lead_id, first_touch_at, qualified_at from {{ ref('stg_app__leads') }}

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

    union

    select leads.lead_id, deals.deal_id, deals.created_at, deals.closed_at, deals.is_won
    from leads
    inner join {{ ref('stg_app__deals') }} as deals
        on deals.deal_id = leads.converted_deal_id
    where not deals.is_deleted

),

deal_dates as (

    select
        lead_id,
        min(created_at) as first_deal_at,
        min(closed_at) filter (where is_won) as first_won_at
    from lead_deals
    group by lead_id

),

responses as (

    select resolved.golden_contact_id as contact_id, interactions.occurred_at
    from {{ ref('stg_app__interactions') }} as interactions
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = interactions.contact_id
    where not interactions.is_deleted
      and (interactions.direction = 'outbound' or interactions.kind in ('call', 'meeting'))

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
    lead_inputs.inputs_hash,
    now() as refreshed_at
from cascaded
inner join lead_inputs on lead_inputs.lead_id = cascaded.lead_id
