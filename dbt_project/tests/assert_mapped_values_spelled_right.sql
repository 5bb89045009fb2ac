-- No known misspelling (var('product_name_fixes'), var('industry_fixes')) gets through the
-- staging of mapped imports: one row per misspelled value left.
{%- set products = var('product_name_fixes').keys() | list %}
{%- set industries = var('industry_fixes').keys() | list %}

select 'product' as field, product as value
from {{ ref('stg_mapped__deals') }}
where product in ({% for p in products %}'{{ p }}'{{ ", " if not loop.last }}{% endfor %}{{ "null" if not products }})

union all

select 'industry' as field, industry as value
from {{ ref('stg_mapped__accounts') }}
where industry in ({% for i in industries %}'{{ i }}'{{ ", " if not loop.last }}{% endfor %}{{ "null" if not industries }})
