-- Engagement counts per live lead, from the touchpoints and interactions of its golden
-- contact. Counts other than the two creation-relative windows stop at the lead's outcome
-- (closed_at) so that what happened because of the outcome does not leak into features.
with

leads as (

    select lead_id, contact_id, created_at, closed_at from {{ ref('int_leads__resolved') }}

),

touchpoints as (

    select contact_id, event_type, occurred_at
    from {{ ref('int_touchpoints__linked_to_contacts') }}
    where contact_id is not null
      and occurred_at is not null

),

inbound_emails as (

    select resolved.golden_contact_id as contact_id, interactions.occurred_at
    from {{ ref('stg_app__interactions') }} as interactions
    inner join {{ ref('int_contacts__resolved_to_golden') }} as resolved
        on resolved.contact_id = interactions.contact_id
    where interactions.kind = 'email'
      and interactions.direction = 'inbound'
      and not interactions.is_deleted

),

touchpoint_counts as (

    select
        leads.lead_id,
        count(*) filter (
            where touchpoints.occurred_at < leads.created_at
        ) as touchpoints_before_creation,
        count(*) filter (
            where touchpoints.occurred_at >= leads.created_at
              and touchpoints.occurred_at < leads.created_at
                  + interval '{{ var("lead_engagement_window_days") }} days'
        ) as touchpoints_30d_after_creation,
        count(*) filter (
            where touchpoints.event_type = 'email_open'
              and (leads.closed_at is null or touchpoints.occurred_at <= leads.closed_at)
        ) as email_opens,
        count(*) filter (
            where touchpoints.event_type = 'email_click'
              and (leads.closed_at is null or touchpoints.occurred_at <= leads.closed_at)
        ) as email_clicks,
        count(*) filter (
            where touchpoints.event_type = 'form_fill'
              and (leads.closed_at is null or touchpoints.occurred_at <= leads.closed_at)
        ) as form_fills
    from leads
    inner join touchpoints on touchpoints.contact_id = leads.contact_id
    group by leads.lead_id

),

inbound_email_counts as (

    select
        leads.lead_id,
        count(*) as inbound_emails
    from leads
    inner join inbound_emails on inbound_emails.contact_id = leads.contact_id
    where leads.closed_at is null or inbound_emails.occurred_at <= leads.closed_at
    group by leads.lead_id

)

select
    leads.lead_id,
    coalesce(touchpoint_counts.touchpoints_before_creation, 0)::integer
        as touchpoints_before_creation,
    coalesce(touchpoint_counts.touchpoints_30d_after_creation, 0)::integer
        as touchpoints_30d_after_creation,
    coalesce(touchpoint_counts.email_opens, 0)::integer as email_opens,
    coalesce(touchpoint_counts.email_clicks, 0)::integer as email_clicks,
    coalesce(touchpoint_counts.form_fills, 0)::integer as form_fills,
    coalesce(inbound_email_counts.inbound_emails, 0)::integer as inbound_emails
from leads
left join touchpoint_counts using (lead_id)
left join inbound_email_counts using (lead_id)
