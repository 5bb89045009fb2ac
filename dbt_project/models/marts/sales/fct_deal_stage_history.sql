-- One row per stage a live deal was in: when it entered and left, how long it stayed.
-- A view over int_deals__stage_history_sequenced (the rows, kept by an incremental
-- model, and its index on deal_id and entered_at): only the open stage's duration moves
-- with time alone, to var('as_of'), so it is computed here at read time instead of every
-- open deal's row being written again at each run.
{{ config(materialized='view') }}

select
    deal_stage_history_id,
    deal_id,
    stage_sequence,
    stage_id,
    historical_stage_label,
    current_stage_name,
    stage_position,
    is_closed_stage,
    is_won_stage,
    entered_at,
    exited_at,
    is_current,
    -- a closed stage that was never left is where the deal ended: no duration
    case
        when exited_at is not null
            then round((extract(epoch from exited_at - entered_at) / 86400)::numeric, 2)
        when not is_closed_stage
            then round((extract(epoch from {{ as_of() }} - entered_at) / 86400)::numeric, 2)
    end as duration_days,
    previous_stage_id,
    is_backward_move,
    is_reopen,
    amount,
    probability,
    changed_by_user_id
from {{ ref('int_deals__stage_history_sequenced') }}
