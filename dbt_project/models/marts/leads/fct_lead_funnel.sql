-- The lead funnel (lead -> MQL -> SQL -> opportunity -> won) per monthly cohort of lead
-- creation, overall (lead_source 'all') and per lead source: how many leads reached each
-- stage, the conversion rate from each stage to the next, and the average days between
-- stages (over the leads that reached both). Stage rules: int_leads__funnel_stages.
with

leads as (

    select * from {{ ref('fct_leads') }}

),

grouped as (

    select
        date_trunc('month', created_at)::date as cohort_month,
        case when grouping(coalesce(lead_source, 'unknown')) = 0
             then coalesce(lead_source, 'unknown') else 'all' end as lead_source,
        count(*) as leads,
        count(mql_at) as mqls,
        count(sql_at) as sqls,
        count(opportunity_at) as opportunities,
        count(won_at) as won,
        avg(extract(epoch from mql_at - created_at) / 86400) as days_lead_to_mql,
        avg(extract(epoch from sql_at - mql_at) / 86400) as days_mql_to_sql,
        avg(extract(epoch from opportunity_at - sql_at) / 86400) as days_sql_to_opportunity,
        avg(extract(epoch from won_at - opportunity_at) / 86400) as days_opportunity_to_won,
        avg(extract(epoch from won_at - created_at) / 86400) as days_lead_to_won
    from leads
    where created_at is not null
    group by grouping sets (
        (date_trunc('month', created_at)::date, coalesce(lead_source, 'unknown')),
        (date_trunc('month', created_at)::date)
    )

)

select
    cohort_month,
    lead_source,
    leads::integer as leads,
    mqls::integer as mqls,
    sqls::integer as sqls,
    opportunities::integer as opportunities,
    won::integer as won,
    round(mqls::numeric / nullif(leads, 0), 4)::numeric(6, 4) as lead_to_mql_rate,
    round(sqls::numeric / nullif(mqls, 0), 4)::numeric(6, 4) as mql_to_sql_rate,
    round(opportunities::numeric / nullif(sqls, 0), 4)::numeric(6, 4) as sql_to_opportunity_rate,
    round(won::numeric / nullif(opportunities, 0), 4)::numeric(6, 4) as opportunity_to_won_rate,
    round(won::numeric / nullif(leads, 0), 4)::numeric(6, 4) as lead_to_won_rate,
    round(days_lead_to_mql::numeric, 2) as avg_days_lead_to_mql,
    round(days_mql_to_sql::numeric, 2) as avg_days_mql_to_sql,
    round(days_sql_to_opportunity::numeric, 2) as avg_days_sql_to_opportunity,
    round(days_opportunity_to_won::numeric, 2) as avg_days_opportunity_to_won,
    round(days_lead_to_won::numeric, 2) as avg_days_lead_to_won
from grouped
