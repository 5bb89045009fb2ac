{# The months attribution_by_channel recomputes (its one home, read by its pre-hook and its
   select): those of the fct_attribution rows written since its last run, and those whose
   first_touch rows (one per conversion) no longer number the conversions it holds. #}
{% macro attribution_months_touched() -%}
    select date_trunc('month', attribution.conversion_date)::date
    from {{ ref('fct_attribution') }} as attribution
    where {{ written_since_last_run('attribution', 'attributed_at') }}
    union
    select coalesce(live.period, held.period)
    from (
        select date_trunc('month', conversion_date)::date as period, count(*) as conversions
        from {{ ref('fct_attribution') }}
        where model = 'first_touch'
        group by 1
    ) as live
    full join (
        select period, sum(conversions) as conversions from {{ this }}
        where model = 'first_touch'
        group by 1
    ) as held on held.period = live.period
    where live.conversions is distinct from held.conversions
{%- endmacro %}
