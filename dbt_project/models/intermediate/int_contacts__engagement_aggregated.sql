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
        (array_agg(channel order by occurred_at desc, event_id desc))[1] as last_touch_channel
    from touchpoints
    group by contact_id

),

interaction_summary as (

    select
        contact_id,
        count(*) as interaction_count,
        count(*) filter (where kind = 'email' and direction = 'inbound') as inbound_emails,
        count(*) filter (where kind = 'email' and direction = 'outbound') as outbound_emails,
        count(*) filter (where kind = 'call') as calls,
        count(*) filter (where kind = 'meeting') as meetings,
        max(occurred_at) as last_interaction_at
    from interactions
    group by contact_id

)

select
    coalesce(touchpoint_summary.contact_id, interaction_summary.contact_id) as contact_id,
    coalesce(touchpoint_summary.touchpoint_count, 0)::integer as touchpoint_count,
    touchpoint_summary.first_touch_at,
    touchpoint_summary.last_touch_at,
    touchpoint_summary.last_touch_channel,
    coalesce(interaction_summary.interaction_count, 0)::integer as interaction_count,
    coalesce(interaction_summary.inbound_emails, 0)::integer as inbound_emails,
    coalesce(interaction_summary.outbound_emails, 0)::integer as outbound_emails,
    coalesce(interaction_summary.calls, 0)::integer as calls,
    coalesce(interaction_summary.meetings, 0)::integer as meetings,
    interaction_summary.last_interaction_at
from touchpoint_summary
full outer join interaction_summary using (contact_id)
