{#
    raw.<source>__<entity> tables are append-only: a re-load adds a new version of a record.
    The current version of each source_key is the one with the greatest (loaded_at, id).
#}
{% macro latest_raw_versions(relation) -%}
    select distinct on (source_key) *
    from {{ relation }}
    order by source_key, loaded_at desc, id desc
{%- endmacro %}

{#
    The same for a table that holds the record as one text column per field (the
    Salesforce export's: salesops.models.raw.COLUMN_SOURCES), with `record` made of the
    newest version's fields that are not null, as jsonb (salesops.models.raw.record_sql).
    `offset 0` keeps the planner from pulling this select up into its reader, which would
    build the record again for every `record->>` there.
#}
{% macro latest_raw_records(relation) -%}
    select latest.*, jsonb_strip_nulls(to_jsonb(latest) - array['id', 'batch_id', 'source',
        'source_key', 'content_hash', 'loaded_at']::text[]) as record
    from ({{ latest_raw_versions(relation) }}) as latest
    offset 0
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
