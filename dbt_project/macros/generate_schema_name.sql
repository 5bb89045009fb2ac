{#
    Use a model's custom schema exactly as written (staging, intermediate, marts) instead of
    dbt's default <target_schema>_<custom_schema>: the schemas are part of salesops' layout
    (see DESIGN.md, "one owner per schema"), and other parts read marts.* by name.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
