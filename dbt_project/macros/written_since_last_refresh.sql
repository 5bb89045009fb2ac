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
