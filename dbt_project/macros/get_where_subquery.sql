{#
    dbt's `where` test config (the relation a generic test reads, filtered), plus the
    incremental run's rule: when var('test_rows_written_since') is set (the incremental job
    sets it to its start time), a generic test of a model whose config names
    `meta: {test_rows_written_column: <column>}` reads only the rows with
    <column> >= that time: the rows this run wrote. Without the var (the full daily build)
    every row is tested. Singular tests are not filtered: they keep their meaning.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set since = var('test_rows_written_since', none) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- set column = (tested.config.meta or {}).get('test_rows_written_column') if tested else none -%}
    {%- if since and column -%}
        {%- do conditions.append(column ~ " >= '" ~ since ~ "'::timestamptz") -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
