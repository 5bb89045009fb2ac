-- Engagement per golden contact: touchpoints (already linked to golden contacts) and
-- interactions (whose contact may be a merged duplicate, so resolved here).
with

touchpoints as (

    select contact_id, event_id, occurred_at, channel
    from {{ ref('int_touchpoints__linked_to_contacts') }}
    where contact_id is not null
      and occurred_at is not null

),

interactions as (

    select
        resolved.golden_contact_id as contact_id,
        interactions.kind,
        interactions.direction,
        interactions.occurred_at
    from {{ ref('stg_app__interactions') }} as interactions
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = interactions.contact_id
    where not interactions.is_deleted

),

touchpoint_summary as (

    select
        contact_id,
        count(*) as touchpoint_count,
        min(occurred_at) as first_touch_at,
        max(occurred_at) as last_touch_at,
        (array_agg(channel order by occurred_at desc, event_id desc))[1] as last_touch_channel,
        0 as interaction_count,
        0 as inbound_emails,
        0 as outbound_emails,
        0 as calls,
        0 as meetings,
        null::timestamptz as last_interaction_at
    from touchpoints
    group by contact_id

),

interaction_summary as (

    select
        contact_id,
        0 as touchpoint_count,
        null::timestamptz as first_touch_at,
        null::timestamptz as last_touch_at,
        null::text as last_touch_channel,
        count(*) as interaction_count,
        count(*) filter (where kind = 'email' and direction = 'inbound') as inbound_emails,
        count(*) filter (where kind = 'email' and direction = 'outbound') as outbound_emails,
        count(*) filter (where kind = 'call') as calls,
        count(*) filter (where kind = 'meeting') as meetings,
        max(occurred_at) as last_interaction_at
    from interactions
    group by contact_id

),

-- a union of the two summaries grouped by contact, not a full outer join on the contact:
-- a filter on contact_id then reaches both streams' indexes
summaries as (

    select * from touchpoint_summary
    union all
    select * from interaction_summary

)

select
    contact_id,
    sum(touchpoint_count)::integer as touchpoint_count,
    min(first_touch_at) as first_touch_at,
    max(last_touch_at) as last_touch_at,
    max(last_touch_channel) as last_touch_channel,
    sum(interaction_count)::integer as interaction_count,
    sum(inbound_emails)::integer as inbound_emails,
    sum(outbound_emails)::integer as outbound_emails,
    sum(calls)::integer as calls,
    sum(meetings)::integer as meetings,
    max(last_interaction_at) as last_interaction_at
from summaries
group by contact_id
