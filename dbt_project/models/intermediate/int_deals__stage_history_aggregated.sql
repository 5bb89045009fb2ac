-- Per deal: when it entered the stage it is in now, and how often it changed stage.
-- One pass over the history (one group by deal): a filter on deal_id reaches every column.
{%- set current_first = "(exited_at is null) desc, entered_at desc, deal_stage_history_id desc" %}
select
    deal_id,
    -- the open history row; when every row is closed (a closed deal), the latest one
    (array_agg(stage_id order by {{ current_first }}))[1] as history_stage_id,
    (array_agg(entered_at order by {{ current_first }}))[1] as current_stage_entered_at,
    min(entered_at) as first_stage_entered_at,
    count(*)::integer as stages_entered,
    (count(*) - 1)::integer as stage_changes
from {{ ref('stg_app__deal_stage_history') }}
group by deal_id
