-- Rule-based multi-touch attribution, one row per model x conversion x credited touchpoint.
-- Conversions (int_attribution__conversions): converted leads, with the touchpoints of
-- their contact in the var('attribution_lookback_days') days up to the conversion, and won
-- deals, with those in the var('attribution_conversion_window_days') days up to the close.
-- Each model hands out exactly one conversion (credit) and the conversion's revenue:
--   first_touch      all to the earliest touch
--   last_touch       all to the latest touch
--   last_non_direct  all to the latest touch whose channel is not direct
--                    (var('attribution_direct_channels')); the latest touch if all are
--   linear           1/n to each of the n touches
--   time_decay       weight 2^(-age / half-life) (var('attribution_half_life_days')),
--                    age = days from the touch to the conversion; normalised
--   u_shaped         var('attribution_u_shaped_first') to the first touch,
--                    var('attribution_u_shaped_last') to the last, the rest split evenly
--                    between the touches in between
--   w_shaped         var('attribution_w_shaped_first'), _lead and _opportunity to the
--                    first touch, the last touch up to lead creation and the last touch up
--                    to opportunity creation; the rest split evenly between the others
-- A touch with several roles gets the sum of their shares; when a role has no touch (or
-- there are no others), the weights are normalised so that they still add up to 1. Ties
-- in time are broken by touchpoint_id, so the result is deterministic. A conversion with
-- no touch in its window gets one 'unattributed' row per model (when
-- var('attribution_include_unattributed')), so every conversion counts once per model.
-- Incremental by conversion: a run recomputes the conversions that are new or changed
-- (contact, time, revenue, lead or opportunity creation against what the table holds, of
-- those int_attribution__conversions rewrote since the newest attributed_at),
-- and those of a contact with a touchpoint (re)written in fct_touchpoints since the newest
-- attributed_at (a late touchpoint, a merge, a campaign change), or that held such a
-- touchpoint before; a post-hook drops conversions that are gone. A change of the vars
-- above needs `dbt build --full-refresh`.
-- Indexed on the columns dashboards filter by, and on attributed_at: the incremental run's
-- data tests read the rows of the newest. The post-hook finds the conversions gone from
-- the conversion_id index alone (an index-only scan, not every row) and deletes by it.
{{
    config(
        materialized='incremental',
        unique_key='conversion_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['conversion_id']},
            {'columns': ['lead_id']},
            {'columns': ['touchpoint_id']},
            {'columns': ['conversion_date']},
            {'columns': ['campaign_id']},
            {'columns': ['attributed_at']},
        ],
        post_hook=[
            "delete from {{ this }} where conversion_id = any(array("
            "select held.conversion_id from {{ this }} as held where not exists (select from"
            " {{ ref('int_attribution__conversions') }} as live"
            " where live.conversion_id = held.conversion_id)))",
        ],
    )
}}

{%- set models = ['first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay',
                  'u_shaped', 'w_shaped'] %}
{%- set u_first = var('attribution_u_shaped_first') | float %}
{%- set u_last = var('attribution_u_shaped_last') | float %}
{%- set w_first = var('attribution_w_shaped_first') | float %}
{%- set w_lead = var('attribution_w_shaped_lead') | float %}
{%- set w_opportunity = var('attribution_w_shaped_opportunity') | float %}

with

{% if is_incremental() %}
-- the conversions rewritten since this table's newest write: only those can differ from it
-- (int_attribution__conversions runs first and stamps what it writes)
rewritten as (

    select conversions.conversion_id
    from {{ ref('int_attribution__conversions') }} as conversions
    where conversions.refreshed_at > (
        select coalesce(max(attributed_at), '-infinity'::timestamptz) from {{ this }}
    )

),

-- one row per conversion as the table holds it (every conversion has one first_touch row),
-- read for the rewritten ones only (joined to them, by the index on conversion_id)
held as (

    select
        conversion_id, contact_id, converted_at, attributed_revenue as revenue,
        lead_created_at, opportunity_created_at
    from {{ this }}
    where model = 'first_touch'

),

retouched as (

    select touchpoint_id, contact_id
    from {{ ref('fct_touchpoints') }}
    where refreshed_at > (
        select coalesce(max(attributed_at), '-infinity'::timestamptz) from {{ this }}
    )

),

changed as (

    select conversions.conversion_id
    from {{ ref('int_attribution__conversions') }} as conversions
    left join held on held.conversion_id = conversions.conversion_id
    where conversions.conversion_id = any(array(select rewritten.conversion_id from rewritten))
      and (held.conversion_id is null
           or held.contact_id is distinct from conversions.contact_id
           or held.converted_at is distinct from conversions.converted_at
           or held.revenue is distinct from round(conversions.revenue, 4)
           or held.lead_created_at is distinct from conversions.lead_created_at
           or held.opportunity_created_at is distinct from conversions.opportunity_created_at)

    union

    select conversions.conversion_id
    from {{ ref('int_attribution__conversions') }} as conversions
    inner join retouched on retouched.contact_id = conversions.contact_id

    union

    select held_touches.conversion_id
    from {{ this }} as held_touches
    where held_touches.touchpoint_id = any(array(select retouched.touchpoint_id from retouched))

),

conversions as (

    select conversions.*
    from {{ ref('int_attribution__conversions') }} as conversions
    inner join changed on changed.conversion_id = conversions.conversion_id

),

touchpoints as (

    select touchpoint_id, contact_id, occurred_at, channel, campaign, campaign_id
    from {{ ref('fct_touchpoints') }}
    -- `= any(array(...))`: the index on contact_id, whatever the planner guesses of the
    -- conversions' number (an `in` hashed every touchpoint)
    where contact_id = any(array(select conversions.contact_id from conversions))
      and occurred_at is not null

),
{% else %}
conversions as (

    select * from {{ ref('int_attribution__conversions') }}

),

touchpoints as (

    select touchpoint_id, contact_id, occurred_at, channel, campaign, campaign_id
    from {{ ref('fct_touchpoints') }}
    where contact_id is not null
      and occurred_at is not null

),
{% endif %}

touches as (

    select
        conversions.conversion_type,
        conversions.conversion_id,
        conversions.lead_id,
        conversions.deal_id,
        conversions.contact_id,
        conversions.converted_at,
        conversions.conversion_date,
        conversions.revenue,
        conversions.lead_created_at,
        conversions.opportunity_created_at,
        touchpoints.touchpoint_id,
        touchpoints.occurred_at as touched_at,
        touchpoints.channel,
        touchpoints.campaign,
        touchpoints.campaign_id,
        touchpoints.channel in (
            {%- for c in var('attribution_direct_channels') %}'{{ c }}'{{ ", " if not loop.last }}{% endfor -%}
        ) as is_direct,
        row_number() over conversion_order as touch_position,
        count(*) over (partition by conversions.conversion_id) as touches_in_window
    from conversions
    inner join touchpoints
        on touchpoints.contact_id = conversions.contact_id
       and touchpoints.occurred_at <= conversions.converted_at
       and touchpoints.occurred_at >= conversions.converted_at - case conversions.conversion_type
           when 'lead' then interval '{{ var("attribution_lookback_days") | int }} days'
           else interval '{{ var("attribution_conversion_window_days") | int }} days' end
    window conversion_order as (
        partition by conversions.conversion_id
        order by touchpoints.occurred_at, touchpoints.touchpoint_id
    )

),

roles as (

    select
        touches.*,
        coalesce(
            max(touch_position) filter (where not is_direct) over conversion,
            touches_in_window
        ) as last_non_direct_position,
        max(touch_position) filter (where touched_at <= lead_created_at) over conversion
            as lead_touch_position,
        max(touch_position) filter (where touched_at <= opportunity_created_at) over conversion
            as opportunity_touch_position,
        power(0.5, extract(epoch from converted_at - touched_at)
                   / (86400.0 * {{ var('attribution_half_life_days') | float }}))
            as decay_weight
    from touches
    window conversion as (partition by conversion_id)

),

keyed as (

    -- the distinct touches with a W-shaped role: the first, the lead's, the opportunity's
    select
        roles.*,
        1
        + case when lead_touch_position > 1 then 1 else 0 end
        + case when opportunity_touch_position > 1
                    and (opportunity_touch_position is distinct from lead_touch_position)
               then 1 else 0 end as key_touches
    from roles

),

weights as (

    select
        keyed.*,
        case when touch_position = 1 then 1.0 else 0.0 end as first_touch,
        case when touch_position = touches_in_window then 1.0 else 0.0 end as last_touch,
        case when touch_position = last_non_direct_position then 1.0 else 0.0 end
            as last_non_direct,
        1.0 as linear,
        decay_weight as time_decay,
        case when touch_position = 1 then {{ u_first }} else 0.0 end
        + case when touch_position = touches_in_window then {{ u_last }} else 0.0 end
        + case when touch_position > 1 and touch_position < touches_in_window
               then {{ (1.0 - u_first - u_last) | round(10) }} / (touches_in_window - 2) else 0.0 end
            as u_shaped,
        case when touch_position = 1 then {{ w_first }} else 0.0 end
        + case when touch_position = lead_touch_position then {{ w_lead }} else 0.0 end
        + case when touch_position = opportunity_touch_position
               then {{ w_opportunity }} else 0.0 end
        + case when touch_position <> 1
                    and (touch_position is distinct from lead_touch_position)
                    and (touch_position is distinct from opportunity_touch_position)
               then {{ (1.0 - w_first - w_lead - w_opportunity) | round(10) }}
                    / (touches_in_window - key_touches)
               else 0.0 end
            as w_shaped
    from keyed

),

credited as (

    {% for m in models %}
    select
        '{{ m }}' as model,
        weights.*,
        {{ m }}::double precision / sum({{ m }}) over (partition by conversion_id) as credit
    from weights
    {{ "union all" if not loop.last }}
    {% endfor %}

),

{% if var('attribution_include_unattributed') %}
unattributed as (

    select
        models.model,
        conversions.conversion_type,
        conversions.conversion_id,
        conversions.lead_id,
        conversions.deal_id,
        conversions.contact_id,
        null::text as touchpoint_id,
        null::timestamptz as touched_at,
        'unattributed'::text as channel,
        null::text as campaign,
        null::bigint as campaign_id,
        null::bigint as touch_position,
        0::bigint as touches_in_window,
        conversions.converted_at,
        conversions.conversion_date,
        conversions.revenue,
        conversions.lead_created_at,
        conversions.opportunity_created_at,
        1.0::double precision as credit
    from conversions
    cross join (
        values {% for m in models %}('{{ m }}'){{ ", " if not loop.last }}{% endfor %}
    ) as models (model)
    where not exists (
        select 1
        from touches
        where touches.conversion_id = conversions.conversion_id
    )

),
{% endif %}

unioned as (

    select
        model, conversion_type, conversion_id, lead_id, deal_id, contact_id, touchpoint_id,
        touched_at, channel, campaign, campaign_id, touch_position, touches_in_window,
        converted_at, conversion_date, revenue, lead_created_at, opportunity_created_at, credit
    from credited
    where credit > 0

    {% if var('attribution_include_unattributed') %}
    union all

    select
        model, conversion_type, conversion_id, lead_id, deal_id, contact_id, touchpoint_id,
        touched_at, channel, campaign, campaign_id, touch_position, touches_in_window,
        converted_at, conversion_date, revenue, lead_created_at, opportunity_created_at, credit
    from unattributed
    {% endif %}

)

select
    model,
    conversion_type,
    conversion_id,
    lead_id,
    deal_id,
    contact_id,
    touchpoint_id,
    touched_at,
    channel,
    campaign,
    campaign_id,
    touch_position::integer as touch_position,
    touches_in_window::integer as touches_in_window,
    converted_at,
    conversion_date,
    credit,
    -- in numeric, so that the shares of one conversion add up to its revenue (to 4 places)
    round(revenue * credit::numeric, 4)::numeric(20, 4) as attributed_revenue,
    lead_created_at,
    opportunity_created_at,
    now() as attributed_at
from unioned
