-- Under every attribution model, the attributed conversions add up to the converted leads
-- of lead_features (each conversion is counted once, touched or not). Returns the models that
-- do not reconcile. Only meaningful while unattributed conversions are kept.
{% if var('attribution_include_unattributed') %}
with

converted as (

    select count(*) as converted_leads
    from {{ ref('lead_features') }}
    where is_converted
      and converted_at is not null

),

attributed as (

    select model, sum(conversions) as conversions
    from {{ ref('attribution_by_channel') }}
    group by model

),

models as (

    select model from (values ('first_touch'), ('last_touch'), ('linear')) as m (model)

)

select models.model, attributed.conversions, converted.converted_leads
from models
cross join converted
left join attributed using (model)
where abs(coalesce(attributed.conversions, 0) - converted.converted_leads) > 1e-6
{% else %}
select 1 as skipped where false
{% endif %}
