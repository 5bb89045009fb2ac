-- One stream of marketing touchpoints, linked to contacts when linkable and to campaigns
-- by name.
-- Incremental: a run takes the touchpoints int_touchpoints__linked_to_contacts relinked
-- since the newest refreshed_at it holds (new, late, or of a merged contact), and, when a
-- campaign was written since its mark (macros/written_since_mark.sql: created, renamed or
-- deleted), those it held for that campaign and those named like it; refreshed_at, the
-- run's time, tells fct_attribution which it rewrote.
-- `dbt build --full-refresh` rebuilds every row.
-- Indexed on the columns dashboards filter by.
{{
    config(
        materialized='incremental',
        unique_key='touchpoint_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['touchpoint_id'], 'unique': True},
            {'columns': ['occurred_date']},
            {'columns': ['campaign_id', 'occurred_date']},
            {'columns': ['contact_id', 'occurred_at']},
            {'columns': ['refreshed_at']},
        ],
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=["{{ commit_xid_mark() }}"],
    )
}}

with

campaigns as (

    -- one campaign per name: live ones first, then the oldest
    select distinct on (lower(campaign_name))
        lower(campaign_name) as campaign_name_key,
        campaign_id,
        campaign_name
    from {{ ref('stg_app__campaigns') }}
    where campaign_name is not null
    order by lower(campaign_name), is_deleted, campaign_id

),

{% if is_incremental() %}
written_campaigns as (

    select campaigns.id, lower(campaigns.name) as name_key
    from {{ source('app', 'marketing_campaigns') }} as campaigns
    where {{ written_since_mark('campaigns') }}

),

changed as (

    select event_id
    from {{ ref('int_touchpoints__linked_to_contacts') }}
    where {{ written_since_last_refresh('linked_at', lookback=false) }}

    union

    -- the touchpoints of the campaigns written since the mark, by the id held or by name;
    -- none read when no campaign was written (a one-time filter, not a scan)
    select held.touchpoint_id
    from {{ this }} as held
    where exists (select from written_campaigns)
      and (held.campaign_id = any(array(select written_campaigns.id from written_campaigns))
           or lower(held.campaign) = any(array(select written_campaigns.name_key
                                               from written_campaigns)))

),

-- `= any(array(...))` rather than a join: the event_id index, whatever the planner guesses
-- of the changed rows' number (a range on linked_at from a subquery it takes for a third of
-- the table, and a join then read every linked event in key order)
touchpoints as (

    select linked.*
    from {{ ref('int_touchpoints__linked_to_contacts') }} as linked
    where linked.event_id = any(array(select changed.event_id from changed))

)
{% else %}
touchpoints as (

    select * from {{ ref('int_touchpoints__linked_to_contacts') }}

)
{% endif %}

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
    touchpoints.loaded_at,
    now() as refreshed_at
from touchpoints
left join campaigns on campaigns.campaign_name_key = lower(touchpoints.campaign_name)
