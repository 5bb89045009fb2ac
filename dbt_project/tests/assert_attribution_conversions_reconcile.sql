-- Under every attribution model, the attributed conversions add up to the conversions:
-- the converted leads of lead_features and the won deals in the conversion window (each
-- counted once, touched or not). Returns the (model, type) pairs that do not reconcile.
-- Only meaningful while unattributed conversions are kept.
{% if var('attribution_include_unattributed') %}
with

expected as (

    select 'lead' as conversion_type, count(*) as conversions
    from {{ ref('lead_features') }}
    where is_converted
      and converted_at is not null

    union all

    select 'deal_won' as conversion_type, count(*) as conversions
    from {{ ref('fct_deals') }}
    where is_won
      and closed_at is not null
      and closed_at <= created_at
          + interval '{{ var("attribution_conversion_window_days") | int }} days'

),

attributed as (

    select model, conversion_type, sum(conversions) as conversions
    from {{ ref('attribution_by_channel') }}
    group by model, conversion_type

),

models as (

    select model from (values
        ('first_touch'), ('last_touch'), ('last_non_direct'), ('linear'), ('time_decay'),
        ('u_shaped'), ('w_shaped')
    ) as m (model)

)

select models.model, expected.conversion_type, attributed.conversions, expected.conversions
from models
cross join expected
left join attributed
    on attributed.model = models.model
   and attributed.conversion_type = expected.conversion_type
where abs(coalesce(attributed.conversions, 0) - expected.conversions) > 1e-6
{% else %}
select 1 as skipped where false
{% endif %}
