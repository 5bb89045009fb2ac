{#
    No two rows share the same values in all of combination_of_columns (nulls compare equal,
    so a null campaign is one group, as it is in a GROUP BY).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
