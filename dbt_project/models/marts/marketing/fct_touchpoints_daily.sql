-- Touchpoints added up per day, channel, campaign and event type: what the dashboards'
-- engagement and cost views read, so a page never scans the touchpoint stream itself
-- (millions of rows) on every view. A few rows per day instead of one per touchpoint.
{{
    config(
        indexes=[
            {'columns': ['occurred_date']},
        ],
    )
}}

with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

)

select
    occurred_date,
    channel,
    campaign,
    event_type,
    count(*)::bigint as touchpoints,
    coalesce(sum(cost), 0)::numeric(18, 2) as cost
from touchpoints
where occurred_date is not null
group by occurred_date, channel, campaign, event_type
