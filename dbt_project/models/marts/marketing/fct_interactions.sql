-- One row per live interaction (email, call, meeting): who, which deal, direction, its
-- place in its thread, response times, and the latest sentiment from
-- ml.sentiment_analysis where it was scored.
-- response_time_hours: for a message that answers the other side (an inbound after an
-- outbound, or the reverse), the hours since the message it answers; hours_to_reply: the
-- hours until the other side answered it. Interactions without a thread stand alone.
-- Incremental: a run recomputes whole threads, those with an interaction written since its
-- mark (macros/written_since_mark.sql: created, changed, moved to another thread: then its
-- old thread too, or deleted), with an interaction of a contact whose golden record may
-- have changed (the contacts written since, and every contact in their merge chains), or
-- with a sentiment scored since the mark; a post-hook drops the interactions deleted
-- since. A hard delete waits for the daily full build (`dbt build --full-refresh`).
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
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=[
            "delete from {{ this }} where interaction_id in (select interactions.id from
             {{ source('app', 'interactions') }} as interactions
             where {{ written_since_mark('interactions') }} and interactions.deleted_at is not null)",
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with


{% if is_incremental() %}
written as (

    select interactions.id, interactions.thread_id
    from {{ source('app', 'interactions') }} as interactions
    where {{ written_since_mark('interactions') }}

),

changed_threads (thread_key) as (

    select coalesce(thread_id, 'interaction-' || id) as thread_key from written

    union

    -- the thread a written interaction was in (it may have moved to another)
    select held.thread_key from {{ this }} as held
    where held.interaction_id = any(array(select written.id from written))

    union

    select coalesce(interactions.thread_id, 'interaction-' || interactions.interaction_id)
    from {{ ref('stg_app__interactions') }} as interactions
    where interactions.contact_id = any(array(
        {{ contacts_resolved_since_mark() }}
    ))

    union

    select held.thread_key from {{ this }} as held
    where held.interaction_id = any(array(
        select scores.interaction_id from {{ source('ml', 'sentiment_analysis') }} as scores
        where {{ written_since_mark('scores') }}
    ))

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

-- the contacts of these interactions only: a join would resolve every contact
resolved as (

    select * from {{ ref('int_contacts__resolved_to_golden') }}
    {% if is_incremental() -%}
    where contact_id = any(array(select interactions.contact_id from interactions))
    {%- endif %}

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
