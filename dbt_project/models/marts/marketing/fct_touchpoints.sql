-- One stream of marketing touchpoints, linked to contacts when linkable and to campaigns
-- by name.
-- Indexed on the columns dashboards filter by.
{{
    config(
        indexes=[
            {'columns': ['occurred_date']},
            {'columns': ['campaign_id', 'occurred_date']},
            {'columns': ['contact_id']},
        ],
    )
}}

with

touchpoints as (

    select * from {{ ref('int_touchpoints__linked_to_contacts') }}

),

campaigns as (

    -- one campaign per name: live ones first, then the oldest
    select distinct on (lower(campaign_name))
        lower(campaign_name) as campaign_name_key,
        campaign_id,
        campaign_name
    from {{ ref('stg_app__campaigns') }}
    where campaign_name is not null
    order by lower(campaign_name), is_deleted, campaign_id

)

select
    touchpoints.event_id as touchpoint_id,
    'touchpoints' as touchpoint_source,
    touchpoints.event_type,
    touchpoints.occurred_at,
    touchpoints.occurred_at::date as occurred_date,
    touchpoints.contact_id,
    touchpoints.link_method,
    touchpoints.anonymous_id,
    coalesce(touchpoints.channel, 'unknown') as channel,
    coalesce(campaigns.campaign_name, touchpoints.campaign_name) as campaign,
    campaigns.campaign_id,
    touchpoints.utm_source,
    touchpoints.utm_medium,
    touchpoints.utm_campaign,
    touchpoints.utm_content,
    touchpoints.utm_term,
    touchpoints.page_url,
    touchpoints.referrer,
    touchpoints.cost,
    touchpoints.loaded_at
from touchpoints
left join campaigns on campaigns.campaign_name_key = lower(touchpoints.campaign_name)
