-- fct_leads is what reports and dashboards read: it must hold every live lead exactly once,
-- and nothing else. Returns the leads missing from fct_leads or there without reason.
-- Anti-joins (`not exists`), not `not in (select ...)`: past work_mem (about a million
-- leads) PostgreSQL compares every lead with every other (13 minutes, unfinished, at 1M).
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
where not exists (
    select 1 from mart
    where mart.lead_id = live_leads.lead_id
)

union all

select lead_id, 'not a live lead' as problem
from mart
where not exists (
    select 1 from live_leads
    where live_leads.lead_id = mart.lead_id
)
