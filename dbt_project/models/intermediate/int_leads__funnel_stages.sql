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
-- A table, not a view: fct_leads, int_attribution__conversions and their tests read it.
{{
    config(
        materialized='table',
        indexes=[{'columns': ['lead_id']}],
    )
}}

with

leads as (

    select * from {{ ref('int_leads__resolved') }}

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
    lead_id,
    created_at,
    {% for stage in ['mql_at', 'sql_at', 'opportunity_at', 'won_at', 'first_response_at'] -%}
    case when {{ stage }} is not null then greatest({{ stage }}, created_at) end as {{ stage }},
    {% endfor -%}
    disqualified_at
from cascaded
