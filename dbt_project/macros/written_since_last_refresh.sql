{# A condition on a stream's write time: written since this table's last refresh. Streams
   written by other transactions (app.*, ml.*) re-read var('incremental_lookback_hours'),
   as a transaction that started earlier may commit later; dbt's own tables need no margin. #}
{% macro written_since_last_refresh(column, lookback=true) -%}
    {{ column }} > {{ last_refresh() }}{% if lookback %} - interval '{{ var("incremental_lookback_hours") | int }} hours'{% endif %}
{%- endmacro %}

{# The time of this table's last refresh: its newest `refreshed_at` (-infinity when empty). #}
{% macro last_refresh() -%}
    (select coalesce(max(refreshed_at), '-infinity'::timestamptz) from {{ this }})
{%- endmacro %}

{# The greatest value of `column` in `relation`, read now and written as a literal: the
   planner finds it rare (or absent) in the column's statistics and reads the column's
   index, where it estimates a subquery's value from the column's distinct values (a
   table written by one full build has one) and a range from one as a third of the table.
   A subquery when not executing (parsing, linting) or when the relation is empty. #}
{% macro newest_as_literal(column, relation) -%}
    {%- set newest = run_query("select max(" ~ column ~ ")::text from " ~ relation).columns[0].values()[0] if execute else none -%}
    {%- if newest is not none -%}
        '{{ newest }}'
    {%- else -%}
        (select max({{ column }}) from {{ relation }})
    {%- endif -%}
{%- endmacro %}

{# This schema's relation `identifier` when it exists (none otherwise, or when not
   executing): a table a model reads by name, where a ref would make a cycle. #}
{% macro existing_relation(identifier) -%}
    {{ return(adapter.get_relation(this.database, this.schema, identifier) if execute else none) }}
{%- endmacro %}
