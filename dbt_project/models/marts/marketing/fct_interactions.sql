-- One row per live interaction (email, call, meeting): who, which deal, direction, its
-- place in its thread, response times, and the latest sentiment from
-- ml.sentiment_analysis where it was scored.
-- response_time_hours: for a message that answers the other side (an inbound after an
-- outbound, or the reverse), the hours since the message it answers; hours_to_reply: the
-- hours until the other side answered it. Interactions without a thread stand alone.
-- Incremental: a run recomputes whole threads, those with an interaction created or
-- changed since the last run (updated_at, less var('incremental_lookback_hours'), or an id
-- above the highest it holds), one that moved out of it, with a contact whose golden record
-- is no longer the one it holds (a merge, a deletion), or with a sentiment scored since;
-- a post-hook drops the interactions deleted since. `dbt build --full-refresh` rebuilds every thread.
-- Indexed on the columns dashboards filter by.
{{
    config(
        materialized='incremental',
        unique_key='thread_key',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['interaction_id'], 'unique': True},
            {'columns': ['thread_key']},
            {'columns': ['contact_id', 'occurred_at']},
            {'columns': ['deal_id']},
            {'columns': ['occurred_date']},
            {'columns': ['user_id']},
        ],
        post_hook=[
            "delete from {{ this }} where interaction_id in (select interaction_id"
            " from {{ ref('stg_app__interactions') }} where is_deleted)",
        ],
    )
}}

with

resolved as (

    select * from {{ ref('int_contacts__resolved_to_golden') }}

),

{% if is_incremental() %}
changed_threads as (

    select coalesce(thread_id, 'interaction-' || interaction_id) as thread_key
    from {{ ref('stg_app__interactions') }}
    where updated_at > (
        select coalesce(max(updated_at), '-infinity'::timestamptz) from {{ this }}
    ) - interval '{{ var("incremental_lookback_hours") | int }} hours'
       or interaction_id > (select coalesce(max(interaction_id), 0) from {{ this }})

    union

    -- the thread an interaction was in, when it moved to another, and the thread of one
    -- whose golden contact is no longer the one it holds
    select current.thread_key
    from {{ this }} as current
    inner join {{ ref('stg_app__interactions') }} as interactions
        on interactions.interaction_id = current.interaction_id
    left join resolved on resolved.contact_id = interactions.contact_id
    where current.thread_key
          <> coalesce(interactions.thread_id, 'interaction-' || interactions.interaction_id)
       or current.contact_id is distinct from
          case when resolved.is_golden_live then resolved.golden_contact_id end

    union

    select current.thread_key
    from {{ this }} as current
    inner join {{ ref('stg_ml__sentiment_analysis') }} as scores
        on scores.interaction_id = current.interaction_id
    where scores.scored_at > (
        select coalesce(max(sentiment_scored_at), '-infinity'::timestamptz) from {{ this }}
    )

),
{% endif %}

interactions as (

    select interactions.*
    from {{ ref('stg_app__interactions') }} as interactions
    {% if is_incremental() %}
    inner join changed_threads
        on changed_threads.thread_key
           = coalesce(interactions.thread_id, 'interaction-' || interactions.interaction_id)
    {% endif %}
    where not interactions.is_deleted

),

sentiment as (

    select distinct on (scores.interaction_id)
        scores.interaction_id,
        scores.sentiment_label,
        scores.sentiment_score,
        scores.model_version,
        scores.scored_at
    from {{ ref('stg_ml__sentiment_analysis') }} as scores
    inner join interactions on interactions.interaction_id = scores.interaction_id
    order by scores.interaction_id, scores.scored_at desc, scores.sentiment_id desc

),

threaded as (

    select
        interactions.*,
        coalesce(interactions.thread_id, 'interaction-' || interactions.interaction_id)
            as thread_key,
        row_number() over thread_order as thread_position,
        count(*) over (partition by coalesce(interactions.thread_id,
                                             'interaction-' || interactions.interaction_id))
            as thread_size,
        lag(interactions.direction) over thread_order as previous_direction,
        lag(interactions.occurred_at) over thread_order as previous_at,
        lead(interactions.direction) over thread_order as next_direction,
        lead(interactions.occurred_at) over thread_order as next_at
    from interactions
    window thread_order as (
        partition by coalesce(interactions.thread_id, 'interaction-' || interactions.interaction_id)
        order by interactions.occurred_at, interactions.interaction_id
    )

)

select
    threaded.interaction_id,
    threaded.thread_key,
    threaded.kind,
    threaded.direction,
    case when resolved.is_golden_live then resolved.golden_contact_id end as contact_id,
    threaded.account_id,
    threaded.deal_id,
    threaded.user_id,
    threaded.occurred_at,
    threaded.occurred_at::date as occurred_date,
    threaded.subject,
    threaded.thread_id,
    threaded.thread_position::integer as thread_position,
    threaded.thread_size::integer as thread_size,
    threaded.duration_seconds,
    case when threaded.previous_direction in ('inbound', 'outbound')
              and threaded.direction in ('inbound', 'outbound')
              and threaded.previous_direction <> threaded.direction
         then round((extract(epoch from threaded.occurred_at - threaded.previous_at) / 3600)::numeric, 2)
    end as response_time_hours,
    case when threaded.next_direction in ('inbound', 'outbound')
              and threaded.direction in ('inbound', 'outbound')
              and threaded.next_direction <> threaded.direction
         then round((extract(epoch from threaded.next_at - threaded.occurred_at) / 3600)::numeric, 2)
    end as hours_to_reply,
    sentiment.sentiment_label,
    sentiment.sentiment_score,
    sentiment.model_version as sentiment_model_version,
    sentiment.scored_at as sentiment_scored_at,
    threaded.source,
    threaded.updated_at
from threaded
left join resolved on resolved.contact_id = threaded.contact_id
left join sentiment on sentiment.interaction_id = threaded.interaction_id
