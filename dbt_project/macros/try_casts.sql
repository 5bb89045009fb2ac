{#
    Casting helpers for text that came from outside. A value that does not parse becomes
    null instead of failing the model: a non-numeric amount must not stop a build.
    The rules live once, in the database (the app.as_* functions of salesops' migrations),
    and the merge into app uses the same functions, so the two never disagree.
#}

{# Trimmed text, with empty strings as null. #}
{% macro clean_text(expr) -%}
    app.txt({{ expr }})
{%- endmacro %}

{# Cast text to data_type when it parses as one, else null (types without a rule of ours). #}
{% macro try_cast(expr, data_type) -%}
    (case when pg_input_is_valid({{ clean_text(expr) }}, '{{ data_type }}')
          then {{ clean_text(expr) }} end)::{{ data_type }}
{%- endmacro %}

{# A finite number ("USD 12,000", "12k" and "1.200,50" read too), else null. #}
{% macro try_numeric(expr, data_type='numeric') -%}
    app.as_num({{ expr }})::{{ data_type }}
{%- endmacro %}

{# An integer; accepts "250.0" (exports write integers that way), else null. #}
{% macro try_integer(expr) -%}
    app.as_int({{ expr }})
{%- endmacro %}

{# true/false/t/f/yes/no/y/n/1/0, else null. #}
{% macro try_boolean(expr) -%}
    app.as_bool({{ expr }})
{%- endmacro %}

{# A timestamp with time zone (ISO, epoch seconds or milliseconds); a date-only value means
   midnight in the session's time zone. #}
{% macro try_timestamp(expr) -%}
    app.as_ts({{ expr }})
{%- endmacro %}

{# A date: ISO, 03/04/2025 (US) or 04.03.2025. #}
{% macro try_date(expr) -%}
    app.as_date({{ expr }})
{%- endmacro %}

{# expr with the known misspellings of var(fixes) (a map: wrong -> right) corrected. #}
{% macro fix_spelling(expr, fixes) -%}
    {%- set known = var(fixes) -%}
    {%- if known -%}
    case {{ expr }}
        {%- for wrong in known %}
        when '{{ wrong }}' then '{{ known[wrong] }}'
        {%- endfor %}
        else {{ expr }}
    end
    {%- else -%}
    {{ expr }}
    {%- endif -%}
{%- endmacro %}
