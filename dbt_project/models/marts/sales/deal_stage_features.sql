-- The win-probability model's stage entries: one row per stage a live deal entered, known
-- from entered_at (a snapshot at T reads the entries entered by T). The label is the one
-- recorded then. A deal without recorded history gets one inferred entry at its creation:
-- an open deal its current stage, a closed one its pipeline's first open stage, never the
-- stage it closed in (which would put the outcome before it happened).
with

deals as (

    select * from {{ ref('stg_app__deals') }}
    where not is_deleted

),

history as (

    select * from {{ ref('stg_app__deal_stage_history') }}

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

first_open_stages as (

    select distinct on (pipeline_id)
        pipeline_id,
        stage_name
    from stages
    where not coalesce(is_closed, false)
    order by pipeline_id, stage_position, stage_id

),

recorded as (

    select
        history.deal_id,
        history.stage_label as stage_name,
        history.entered_at,
        history.amount,
        false as is_inferred,
        history.deal_stage_history_id
    from history
    inner join deals on deals.deal_id = history.deal_id

),

inferred as (

    select
        deals.deal_id,
        case
            when coalesce(stages.is_closed, false) then first_open_stages.stage_name
            else stages.stage_name
        end as stage_name,
        deals.created_at as entered_at,
        null::numeric as amount,
        true as is_inferred,
        null::bigint as deal_stage_history_id
    from deals
    inner join stages on stages.stage_id = deals.stage_id
    left join first_open_stages on first_open_stages.pipeline_id = deals.pipeline_id
    left join recorded on recorded.deal_id = deals.deal_id
    where recorded.deal_id is null

)

select * from recorded
union all
select * from inferred
