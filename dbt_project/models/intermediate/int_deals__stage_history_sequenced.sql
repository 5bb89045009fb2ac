-- One row per stage a live deal was in, in order, without what moves with time alone: the
-- stored rows under the view fct_deal_stage_history, which adds the open stage's duration
-- to var('as_of'). The stage label as it was recorded then (historical_stage_label) is kept
-- apart from the stage's name today (current_stage_name): renaming a stage does not
-- rewrite history. A stage is left at its recorded exit, or when the next one is entered
-- if that comes first (so a deal is never in two stages at once).
-- Incremental by deal (macros/written_since_mark.sql): a run recomputes every row of the
-- deals written since its mark, of those with stage history written since, and of those
-- with a row in a stage (or pipeline) written since. The rows of the deals deleted since
-- are dropped by a post-hook (delete+insert deletes only the keys it inserts); a hard
-- delete of a history row waits for the daily full build.
{{
    config(
        materialized='incremental',
        unique_key='deal_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['deal_id', 'entered_at']},
            {'columns': ['refreshed_at']},
        ],
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=[
            "{{ delete_deals_deleted_since_mark() }}",
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with

{% if is_incremental() %}
written_stages (stage_id) as (

    {{ stages_written_since_mark() }}

),

changed (deal_id) as (

    {{ deals_written_since_mark() }}

    union

    -- the stages' names, positions and closed flags (the history is read only when one
    -- was written)
    select history.deal_id from {{ source('app', 'deal_stage_history') }} as history
    where exists (select from written_stages)
      and history.stage_id = any(array(select written_stages.stage_id from written_stages))

),
{% endif %}

history as (

    select * from {{ ref('stg_app__deal_stage_history') }}
    {% if is_incremental() %}where deal_id = any(array(select changed.deal_id from changed)){% endif %}

),

live_deals as (

    select deal_id from {{ ref('stg_app__deals') }}
    where not is_deleted
    {% if is_incremental() %}and deal_id = any(array(select changed.deal_id from changed)){% endif %}

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

ordered as (

    select
        history.*,
        row_number() over deal_order as stage_sequence,
        lead(history.entered_at) over deal_order as next_entered_at,
        lag(history.stage_id) over deal_order as previous_stage_id
    from history
    inner join live_deals on live_deals.deal_id = history.deal_id
    window deal_order as (
        partition by history.deal_id
        order by history.entered_at, history.deal_stage_history_id
    )

),

joined as (

    select
        ordered.*,
        stages.stage_name as current_stage_name,
        stages.stage_position,
        coalesce(stages.is_closed, false) as is_closed_stage,
        coalesce(stages.is_won, false) as is_won_stage,
        previous_stages.stage_position as previous_stage_position,
        coalesce(previous_stages.is_closed, false) as previous_is_closed,
        case
            when ordered.next_entered_at is null then ordered.exited_at
            else least(coalesce(ordered.exited_at, ordered.next_entered_at),
                       ordered.next_entered_at)
        end as exited_at_derived
    from ordered
    left join stages on stages.stage_id = ordered.stage_id
    left join stages as previous_stages on previous_stages.stage_id = ordered.previous_stage_id

)

select
    deal_stage_history_id,
    deal_id,
    stage_sequence::integer as stage_sequence,
    stage_id,
    stage_label as historical_stage_label,
    current_stage_name,
    stage_position,
    is_closed_stage,
    is_won_stage,
    entered_at,
    exited_at_derived as exited_at,
    exited_at_derived is null as is_current,
    previous_stage_id,
    (previous_stage_position is not null
        and not previous_is_closed
        and not is_closed_stage
        and stage_position < previous_stage_position) as is_backward_move,
    (previous_is_closed and not is_closed_stage) as is_reopen,
    amount,
    probability,
    changed_by_user_id,
    now() as refreshed_at
from joined
