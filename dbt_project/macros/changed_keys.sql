{#
    The "changed keys" rule of the incremental marts keyed on a deal or a conversion, whose
    rows are cheap to compute (its one home; the models keyed on a lead or a contact find
    their changes from the rows written since their last run: written_since_mark.sql).
    An incremental run recomputes the keys
      - whose inputs fingerprint differs from the one the table holds: `inputs` is a select
        of the key and `inputs_hash` for every live key, read from the model's cheap
        inputs (its own rows and their small joins), so a new key, an edited row, a merge
        or a deal moved back or reopened is seen without a timestamp to trust;
      - that an event stream wrote for since the table's last refresh: `touched` is a list
        of selects of the key, each filtered with `written_since_last_refresh(column)` on
        the stream (relinked touchpoints, changed interactions, new scores, upstream rows
        recomputed by their own incremental run).
    It is a select of the key (most models name it as a CTE `changed`); a model reads its
    inputs `where key = any(array(select key from changed))`: a plain condition (the array
    is computed once) that PostgreSQL pushes down into the views and aggregations below,
    which then read only those keys. Keys that are gone are dropped by the post-hook
    `delete_gone_keys`. `dbt build --full-refresh` (the daily build) recomputes every key.
#}
{% macro changed_keys(key, inputs, touched=[]) -%}
    select current_inputs.{{ key }}
    from ({{ inputs }}) as current_inputs
    left join {{ this }} as held on held.{{ key }} = current_inputs.{{ key }}
    where held.inputs_hash is distinct from current_inputs.inputs_hash
    {%- for select in touched %}

    union

    {{ select }}
    {%- endfor %}
{%- endmacro %}

{# A condition on a stream's write time: written since this table's last refresh. Streams
   written by other transactions (app.*, ml.*) re-read var('incremental_lookback_hours'),
   as a transaction that started earlier may commit later; dbt's own tables need no margin. #}
{% macro written_since_last_refresh(column, lookback=true) -%}
    {{ column }} > (
        select coalesce(max(refreshed_at), '-infinity'::timestamptz) from {{ this }}
    ){% if lookback %} - interval '{{ var("incremental_lookback_hours") | int }} hours'{% endif %}
{%- endmacro %}

{# The post-hook of a model using changed_keys: drop the keys no longer live. `not exists`
   (an anti-join), not `not in (select ...)`: PostgreSQL runs the latter as a hashed subplan
   only while the keys fit in work_mem, and beyond (a few hundred thousand keys) compares
   every held key with every live one. #}
{% macro delete_gone_keys(key, live) -%}
    delete from {{ this }} as held where not exists (
        select from (select {{ key }} from {{ live }}) as live_keys
        where live_keys.{{ key }} = held.{{ key }}
    )
{%- endmacro %}
