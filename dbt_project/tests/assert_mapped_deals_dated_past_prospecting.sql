-- Mapped deals: only a deal still in prospecting may lack its engage date, and a deal has a
-- close date exactly when it is closed (Maven CRM: 500 prospecting deals have no dates,
-- open deals no close date). One row per deal that breaks the rule.
select deal_key, stage, engaged_on, closed_on, is_closed
from {{ ref('stg_mapped__deals') }}
where (engaged_on is null and lower(stage) <> 'prospecting')
   or (closed_on is null) = is_closed
