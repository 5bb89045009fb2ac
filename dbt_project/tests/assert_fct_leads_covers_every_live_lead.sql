-- fct_leads is what reports and dashboards read: it must hold every live lead exactly once,
-- and nothing else. Returns the leads missing from fct_leads or there without reason.
with

live_leads as (

    select id as lead_id from {{ source('app', 'leads') }}
    where deleted_at is null

),

mart as (

    select lead_id from {{ ref('fct_leads') }}

)

select lead_id, 'missing from fct_leads' as problem
from live_leads
where lead_id not in (select lead_id from mart)

union all

select lead_id, 'not a live lead' as problem
from mart
where lead_id not in (select lead_id from live_leads)
