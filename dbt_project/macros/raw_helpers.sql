{#
    raw.<source>__<entity> tables are append-only: a re-load adds a new version of a record.
    The current version of each source_key is the one with the greatest (loaded_at, id).
#}
{% macro latest_raw_versions(relation) -%}
    select distinct on (source_key) *
    from {{ relation }}
    order by source_key, loaded_at desc, id desc
{%- endmacro %}

{# A field of the raw record as trimmed text (null when empty). #}
{% macro raw_field(name, record='record') -%}
    {{ clean_text(record ~ "->>'" ~ name ~ "'") }}
{%- endmacro %}

{# The lineage columns every raw-based staging model carries. #}
{% macro raw_lineage_columns() -%}
    source_key,
    batch_id,
    content_hash,
    loaded_at
{%- endmacro %}
