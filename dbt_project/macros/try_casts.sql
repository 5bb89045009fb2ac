{#
    Casting helpers for text that came from outside. A value that does not parse becomes
    null instead of failing the model: a non-numeric amount must not stop a build.
    Needs PostgreSQL 16+ (pg_input_is_valid).
#}

{# Trimmed text, with empty strings as null. #}
{% macro clean_text(expr) -%}
    nullif(btrim({{ expr }}), '')
{%- endmacro %}

{# Cast text to data_type when it parses as one, else null. #}
{% macro try_cast(expr, data_type) -%}
    (case when pg_input_is_valid({{ clean_text(expr) }}, '{{ data_type }}')
          then {{ clean_text(expr) }} end)::{{ data_type }}
{%- endmacro %}

{# A finite number (NaN and infinities are junk in an amount), else null. #}
{% macro try_numeric(expr, data_type='numeric') -%}
    (case when pg_input_is_valid({{ clean_text(expr) }}, '{{ data_type }}')
               and {{ clean_text(expr) }} !~* '(nan|inf)'
          then {{ clean_text(expr) }} end)::{{ data_type }}
{%- endmacro %}

{# An integer; accepts "250.0" (exports write integers that way), else null. #}
{% macro try_integer(expr) -%}
    (case when pg_input_is_valid({{ clean_text(expr) }}, 'numeric')
               and {{ clean_text(expr) }} !~* '(nan|inf)'
          then case when round({{ clean_text(expr) }}::numeric) between -2147483648 and 2147483647
                    then round({{ clean_text(expr) }}::numeric) end
     end)::integer
{%- endmacro %}

{# true/false/t/f/yes/no/1/0, else null. #}
{% macro try_boolean(expr) -%}
    {{ try_cast(expr, 'boolean') }}
{%- endmacro %}

{# A timestamp with time zone; a date-only value means midnight in the session's time zone. #}
{% macro try_timestamp(expr) -%}
    {{ try_cast(expr, 'timestamptz') }}
{%- endmacro %}

{% macro try_date(expr) -%}
    {{ try_cast(expr, 'date') }}
{%- endmacro %}
