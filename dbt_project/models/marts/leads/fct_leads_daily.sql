-- Leads added up per day of creation and owner: how many reached each funnel stage, and
-- the days between stages summed with how many leads they cover (so any range of days
-- gives exact averages). What the dashboards' Overview and funnel read, so a page never
-- scans every lead on every view.
{{
    config(
        indexes=[
            {'columns': ['created_date']},
        ],
    )
}}

with

leads as (

    select
        created_at::date as created_date,
        owner_id,
        mql_at,
        sql_at,
        opportunity_at,
        won_at,
        extract(epoch from mql_at - created_at) / 86400 as lead_to_mql_days,
        extract(epoch from sql_at - mql_at) / 86400 as mql_to_sql_days,
        extract(epoch from opportunity_at - sql_at) / 86400 as sql_to_opportunity_days,
        extract(epoch from won_at - opportunity_at) / 86400 as opportunity_to_won_days
    from {{ ref('fct_leads') }}
    where created_at is not null

)

select
    created_date,
    owner_id,
    count(*)::bigint as leads,
    count(mql_at)::bigint as mqls,
    count(sql_at)::bigint as sqls,
    count(opportunity_at)::bigint as opportunities,
    count(won_at)::bigint as won,
    sum(lead_to_mql_days)::double precision as lead_to_mql_days_sum,
    count(lead_to_mql_days)::bigint as lead_to_mql_count,
    sum(mql_to_sql_days)::double precision as mql_to_sql_days_sum,
    count(mql_to_sql_days)::bigint as mql_to_sql_count,
    sum(sql_to_opportunity_days)::double precision as sql_to_opportunity_days_sum,
    count(sql_to_opportunity_days)::bigint as sql_to_opportunity_count,
    sum(opportunity_to_won_days)::double precision as opportunity_to_won_days_sum,
    count(opportunity_to_won_days)::bigint as opportunity_to_won_count
from leads
group by created_date, owner_id
