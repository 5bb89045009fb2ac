-- Per deal: when it entered the stage it is in now, and how often it changed stage.
with

history as (

    select * from {{ ref('stg_app__deal_stage_history') }}

),

current_stage as (

    -- the open history row; when every row is closed (a closed deal), the latest one
    select distinct on (deal_id)
        deal_id,
        stage_id as history_stage_id,
        entered_at as current_stage_entered_at
    from history
    order by deal_id, (exited_at is null) desc, entered_at desc, deal_stage_history_id desc

),

counts as (

    select
        deal_id,
        count(*) as stages_entered,
        min(entered_at) as first_stage_entered_at
    from history
    group by deal_id

)

select
    current_stage.deal_id,
    current_stage.history_stage_id,
    current_stage.current_stage_entered_at,
    counts.first_stage_entered_at,
    counts.stages_entered::integer as stages_entered,
    (counts.stages_entered - 1)::integer as stage_changes
from current_stage
inner join counts using (deal_id)
