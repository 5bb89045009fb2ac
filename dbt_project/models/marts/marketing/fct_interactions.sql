-- One row per live interaction (email, call, meeting): who, which deal, direction, its
-- place in its thread, response times, and the latest sentiment from
-- ml.sentiment_analysis where it was scored.
-- response_time_hours: for a message that answers the other side (an inbound after an
-- outbound, or the reverse), the hours since the message it answers; hours_to_reply: the
-- hours until the other side answered it. Interactions without a thread stand alone.
-- Indexed on the columns dashboards filter by.
{{
    config(
        indexes=[
            {'columns': ['occurred_date']},
            {'columns': ['user_id']},
        ],
    )
}}

with

interactions as (

    select * from {{ ref('stg_app__interactions') }}
    where not is_deleted

),

resolved as (

    select * from {{ ref('int_contacts__resolved_to_golden') }}

),

sentiment as (

    select distinct on (interaction_id)
        interaction_id, sentiment_label, sentiment_score, model_version
    from {{ ref('stg_ml__sentiment_analysis') }}
    order by interaction_id, scored_at desc, sentiment_id desc

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
    threaded.source
from threaded
left join resolved on resolved.contact_id = threaded.contact_id
left join sentiment on sentiment.interaction_id = threaded.interaction_id
