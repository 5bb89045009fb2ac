-- One row per live campaign: what it sent and how recipients reacted (deliveries), the
-- touchpoints it drew, the leads, opportunities, pipeline and revenue it brought, its cost
-- and ROI. A deal belongs to a campaign through its own campaign_id, else its lead's.
-- Money is in the reporting currency; cost is the campaign's actual cost, else the media
-- cost of its touchpoints.
-- A table of one row per campaign, rebuilt by the incremental run too (selectors.yml): it
-- reads the leads from the fct_leads table (the same rows and columns as the
-- lead_features view, which would compute every lead's features again).
with

campaigns as (

    select * from {{ ref('stg_app__campaigns') }}
    where not is_deleted

),

deliveries as (

    select
        campaign_id,
        count(*) filter (
            where sent_at is not null or status in ('sent', 'delivered', 'bounced')
        ) as sent,
        count(*) filter (
            where status = 'delivered' or opened_at is not null or clicked_at is not null
        ) as delivered,
        count(*) filter (where opened_at is not null) as opened,
        count(*) filter (where clicked_at is not null) as clicked,
        count(*) filter (where status = 'bounced') as bounced,
        count(*) filter (where unsubscribed_at is not null) as unsubscribed
    from {{ ref('stg_app__campaign_deliveries') }}
    group by campaign_id

),

members as (

    select
        campaign_id,
        count(*) as members,
        count(responded_at) as responded
    from {{ ref('stg_app__campaign_members') }}
    group by campaign_id

),

touchpoints as (

    select
        campaign_id,
        count(*) as touchpoints,
        count(*) filter (where event_type = 'email_open') as email_open_events,
        count(*) filter (where event_type = 'email_click') as email_click_events,
        count(distinct contact_id) as contacts_reached,
        sum(cost) as touchpoint_cost
    from {{ ref('fct_touchpoints') }}
    where campaign_id is not null
    group by campaign_id

),

leads as (

    select
        campaign_id,
        count(*) as leads,
        count(*) filter (where is_converted) as converted_leads
    from {{ ref('fct_leads') }}
    where campaign_id is not null
    group by campaign_id

),

lead_campaigns as (

    select lead_id, campaign_id from {{ ref('fct_leads') }}

),

deals as (

    select
        coalesce(deals.campaign_id, lead_campaigns.campaign_id) as campaign_id,
        count(*) as opportunities,
        count(*) filter (where deals.is_won) as won_deals,
        sum(deals.amount_reporting) as pipeline,
        sum(deals.amount_reporting) filter (where not deals.is_closed) as open_pipeline,
        sum(deals.amount_reporting) filter (where deals.is_won) as revenue
    from {{ ref('fct_deals') }} as deals
    left join lead_campaigns on lead_campaigns.lead_id = deals.lead_id
    where coalesce(deals.campaign_id, lead_campaigns.campaign_id) is not null
    group by coalesce(deals.campaign_id, lead_campaigns.campaign_id)

),

joined as (

    select
        campaigns.*,
        coalesce(campaigns.actual_cost, touchpoints.touchpoint_cost) as cost,
        case
            when campaigns.actual_cost is not null then 'actual_cost'
            when touchpoints.touchpoint_cost is not null then 'touchpoints'
        end as cost_source,
        deliveries.sent, deliveries.delivered, deliveries.opened, deliveries.clicked,
        deliveries.bounced, deliveries.unsubscribed,
        members.members, members.responded,
        touchpoints.touchpoints, touchpoints.email_open_events, touchpoints.email_click_events,
        touchpoints.contacts_reached,
        leads.leads, leads.converted_leads,
        deals.opportunities, deals.won_deals, deals.pipeline, deals.open_pipeline, deals.revenue
    from campaigns
    left join deliveries on deliveries.campaign_id = campaigns.campaign_id
    left join members on members.campaign_id = campaigns.campaign_id
    left join touchpoints on touchpoints.campaign_id = campaigns.campaign_id
    left join leads on leads.campaign_id = campaigns.campaign_id
    left join deals on deals.campaign_id = campaigns.campaign_id

)

select
    campaign_id,
    campaign_name,
    channel,
    campaign_type,
    status,
    start_date,
    end_date,
    budget,
    {% for column in ['sent', 'delivered', 'opened', 'clicked', 'bounced', 'unsubscribed',
                      'members', 'responded', 'touchpoints', 'email_open_events',
                      'email_click_events', 'contacts_reached', 'leads', 'converted_leads',
                      'opportunities', 'won_deals'] -%}
    coalesce({{ column }}, 0)::integer as {{ column }},
    {% endfor -%}
    round(opened::numeric / nullif(delivered, 0), 4)::numeric(6, 4) as open_rate,
    round(clicked::numeric / nullif(delivered, 0), 4)::numeric(6, 4) as click_rate,
    round(bounced::numeric / nullif(sent, 0), 4)::numeric(6, 4) as bounce_rate,
    coalesce(pipeline, 0)::numeric(18, 2) as pipeline,
    coalesce(open_pipeline, 0)::numeric(18, 2) as open_pipeline,
    coalesce(revenue, 0)::numeric(18, 2) as revenue,
    cost::numeric(18, 2) as cost,
    cost_source,
    round((coalesce(revenue, 0) - cost) / nullif(cost, 0), 4)::numeric(18, 4) as roi
from joined
