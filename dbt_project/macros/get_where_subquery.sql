{#
    dbt's `where` test config (the relation a generic test reads, filtered), plus the
    incremental run's rule: when var('test_changed_rows_only') is true (the incremental job
    sets it), a generic test of a model whose config names
    `meta: {test_rows_written_column: <column>}` reads only the rows of the model's latest
    write (<column>, the time a run wrote the row, at its newest): the rows this run wrote.
    The newest write time is compared as a literal (newest_as_literal): compared with a
    subquery's value the planner estimated the equality from the column's distinct values,
    and a table written by one full build has one (every row the same time), so every test
    scanned its table.
    Without the var (the full daily build) every row is tested. Singular tests are not
    filtered: they keep their meaning. A boolean rather than the run's start time, so that
    consecutive incremental runs keep dbt's partial parse (a change of vars re-parses all).
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set changed_only = var('test_changed_rows_only', false) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- set column = (tested.config.meta or {}).get('test_rows_written_column') if tested else none -%}
    {%- if changed_only and column -%}
        {%- do conditions.append(column ~ " = " ~ newest_as_literal(column, relation)) -%}
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
