-- Rule-based multi-touch attribution. For every converted lead, the touchpoints of its
-- contact in the var('attribution_lookback_days') days up to the conversion share one
-- conversion per model:
--   first_touch: all of it to the earliest touchpoint
--   last_touch:  all of it to the latest touchpoint
--   linear:      1/n to each of the n touchpoints
-- Ties in time are broken by touchpoint_id, so the result is deterministic. A conversion
-- with no touchpoint in the window gets one 'unattributed' row per model (when
-- var('attribution_include_unattributed')), so every conversion is counted once per model.
{%- set lookback_days = var('attribution_lookback_days') | int %}
{%- set models = ['first_touch', 'last_touch', 'linear'] %}

with

conversions as (

    select * from {{ ref('int_leads__converted_with_revenue') }}

),

touchpoints as (

    select touchpoint_id, contact_id, occurred_at, channel, campaign
    from {{ ref('fct_touchpoints') }}
    where contact_id is not null
      and occurred_at is not null

),

touches as (

    select
        conversions.lead_id,
        conversions.contact_id,
        conversions.converted_at,
        conversions.conversion_date,
        conversions.revenue,
        touchpoints.touchpoint_id,
        touchpoints.occurred_at as touched_at,
        touchpoints.channel,
        touchpoints.campaign,
        row_number() over (
            partition by conversions.lead_id
            order by touchpoints.occurred_at, touchpoints.touchpoint_id
        ) as touch_position,
        count(*) over (partition by conversions.lead_id) as touches_in_window
    from conversions
    inner join touchpoints
        on touchpoints.contact_id = conversions.contact_id
       and touchpoints.occurred_at <= conversions.converted_at
       and touchpoints.occurred_at >= conversions.converted_at - interval '{{ lookback_days }} days'

),

credited as (

    select 'first_touch' as model, touches.*, 1.0::double precision as credit,
        revenue as revenue_share
    from touches
    where touch_position = 1

    union all

    select 'last_touch' as model, touches.*, 1.0::double precision as credit,
        revenue as revenue_share
    from touches
    where touch_position = touches_in_window

    union all

    select 'linear' as model, touches.*, 1.0::double precision / touches_in_window as credit,
        revenue / touches_in_window as revenue_share
    from touches

),

{% if var('attribution_include_unattributed') %}
unattributed as (

    select
        models.model,
        conversions.lead_id,
        conversions.contact_id,
        conversions.converted_at,
        conversions.conversion_date,
        conversions.revenue,
        null::text as touchpoint_id,
        null::timestamptz as touched_at,
        'unattributed'::text as channel,
        null::text as campaign,
        null::bigint as touch_position,
        0::bigint as touches_in_window,
        1.0::double precision as credit,
        conversions.revenue as revenue_share
    from conversions
    cross join (
        values {% for m in models %}('{{ m }}'){{ ", " if not loop.last }}{% endfor %}
    ) as models (model)
    where not exists (select 1 from touches where touches.lead_id = conversions.lead_id)

),
{% endif %}

unioned as (

    select
        model, lead_id, contact_id, converted_at, conversion_date, revenue, touchpoint_id,
        touched_at, channel, campaign, touch_position, touches_in_window, credit,
        revenue_share
    from credited

    {% if var('attribution_include_unattributed') %}
    union all

    select
        model, lead_id, contact_id, converted_at, conversion_date, revenue, touchpoint_id,
        touched_at, channel, campaign, touch_position, touches_in_window, credit,
        revenue_share
    from unattributed
    {% endif %}

)

select
    model,
    lead_id,
    contact_id,
    touchpoint_id,
    touched_at,
    channel,
    campaign,
    touch_position::integer as touch_position,
    touches_in_window::integer as touches_in_window,
    converted_at,
    conversion_date,
    credit,
    -- computed in numeric (not credit x revenue in floating point) so that shares add up
    round(revenue_share, 4)::numeric(20, 4) as attributed_revenue
from unioned
