{# The reference time for ages and durations: var('as_of') when set, else now. #}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        '{{ var("as_of") }}'::timestamptz
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}

{# Whole days between two timestamps (can be negative), null when either is null. #}
{% macro days_between(start_ts, end_ts) -%}
    floor(extract(epoch from ({{ end_ts }}) - ({{ start_ts }})) / 86400)::integer
{%- endmacro %}
