-- Each converted lead hands out exactly one conversion per attribution model:
-- returns the (model, lead) pairs whose credits do not sum to 1.
select
    model,
    lead_id,
    sum(credit) as total_credit
from {{ ref('fct_attribution') }}
group by model, lead_id
having abs(sum(credit) - 1.0) > 1e-9
