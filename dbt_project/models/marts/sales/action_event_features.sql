-- The next-best-action model's history: one row per action taken on a lead or deal, and
-- per move forward, each at the time it happened (known from then: a decision at T reads
-- the actions before T; its outcome, the moves in the days after T).
-- Actions: completed call, email and meeting tasks (an offer when the title speaks of an
-- offer, quote, discount or pricing), outbound calls, emails and meetings logged on deals,
-- and nurture-campaign memberships of leads. Moves forward: a lead qualified (or converted
-- without qualification) and then converted; a deal entering a stage that is not a lost
-- one, after its creation.
with

tasks as (

    select * from {{ ref('stg_app__tasks') }}

),

interactions as (

    select * from {{ ref('stg_app__interactions') }}

),

campaign_members as (

    select * from {{ ref('stg_app__campaign_members') }}

),

leads as (

    select * from {{ ref('stg_app__leads') }}

),

deals as (

    select * from {{ ref('stg_app__deals') }}

),

history as (

    select * from {{ ref('stg_app__deal_stage_history') }}

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

task_actions as (

    select
        case
            when deal_id is not null then 'deal:' || deal_id else 'lead:' || lead_id
        end as record,
        'action' as event_type,
        case
            when title ~* '(offer|quote|discount|pricing)' then 'offer'
            when task_type in ('call', 'email', 'meeting') then task_type
        end as action,
        completed_at as occurred_at,
        'task' as source,
        task_id as source_id
    from tasks
    where
        status = 'completed' and not is_deleted
        and (deal_id is not null or lead_id is not null)

),

logged_actions as (

    select
        'deal:' || deal_id as record,
        'action' as event_type,
        kind as action,
        occurred_at,
        'interaction' as source,
        interaction_id as source_id
    from interactions
    where direction = 'outbound' and deal_id is not null and not is_deleted

),

nurture_actions as (

    select
        'lead:' || lead_id as record,
        'action' as event_type,
        'nurture' as action,
        created_at as occurred_at,
        'campaign_member' as source,
        campaign_member_id as source_id
    from campaign_members
    where lead_id is not null

),

actions as (

    select * from task_actions
    union all
    select * from logged_actions
    union all
    select * from nurture_actions

),

lead_moves as (

    select
        'lead:' || lead_id as record,
        'progress' as event_type,
        null::text as action,
        coalesce(qualified_at, converted_at) as occurred_at,
        'lead' as source,
        lead_id as source_id
    from leads
    where coalesce(qualified_at, converted_at) is not null
    union all
    select
        'lead:' || lead_id as record,
        'progress' as event_type,
        null::text as action,
        converted_at as occurred_at,
        'lead' as source,
        lead_id as source_id
    from leads
    where converted_at is not null and qualified_at is not null

),

deal_moves as (

    select
        'deal:' || history.deal_id as record,
        'progress' as event_type,
        null::text as action,
        history.entered_at as occurred_at,
        'stage_history' as source,
        history.deal_stage_history_id as source_id
    from history
    inner join deals on deals.deal_id = history.deal_id
    left join stages on stages.stage_id = history.stage_id
    where
        not (coalesce(stages.is_closed, false) and not coalesce(stages.is_won, false))
        and history.entered_at > deals.created_at + interval '1 minute'

)

select * from actions
where action in ('call', 'email', 'meeting', 'nurture', 'offer') and occurred_at is not null
union all
select * from lead_moves
union all
select * from deal_moves
