-- Each conversion hands out exactly one conversion per attribution model: returns the
-- (model, conversion) pairs whose credits do not sum to 1.
select
    model,
    conversion_id,
    sum(credit) as total_credit
from {{ ref('fct_attribution') }}
group by model, conversion_id
having abs(sum(credit) - 1.0) > 1e-9
