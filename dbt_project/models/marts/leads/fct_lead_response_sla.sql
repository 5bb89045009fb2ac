-- The response-time SLA per month of lead creation and lead owner: how many leads got a
-- first sales response, how many within var('lead_response_sla_hours') (default 24) of
-- creation, and how fast. A lead still waiting past the SLA at var('as_of') is breached.
with

leads as (

    select * from {{ ref('fct_leads') }}
    where created_at is not null

),

owners as (

    select user_id, full_name from {{ ref('dim_users') }}

)

select
    date_trunc('month', leads.created_at)::date as cohort_month,
    leads.owner_id,
    coalesce(max(owners.full_name), 'Unassigned') as owner_name,
    count(*)::integer as leads,
    count(leads.first_response_at)::integer as responded,
    count(*) filter (where leads.responded_within_sla)::integer as responded_within_sla,
    count(*) filter (
        where not leads.responded_within_sla
          and coalesce(leads.first_response_at, {{ as_of() }})
              > leads.created_at + interval '{{ var("lead_response_sla_hours") | int }} hours'
    )::integer as breached,
    round(count(*) filter (where leads.responded_within_sla)::numeric / count(*), 4)::numeric(6, 4)
        as sla_attainment,
    round(avg(leads.hours_to_first_response), 2) as avg_hours_to_first_response,
    round((percentile_cont(0.5) within group (order by leads.hours_to_first_response))::numeric, 2)
        as median_hours_to_first_response
from leads
left join owners on owners.user_id = leads.owner_id
group by date_trunc('month', leads.created_at)::date, leads.owner_id
