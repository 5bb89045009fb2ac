-- Every lead source and industry pair the leads carry, with how many leads: the options
-- of the dashboards' source and segment filters, read in a few rows instead of a distinct
-- over every lead on every view.
with

leads as (

    select * from {{ ref('fct_leads') }}

)

select
    lead_source,
    industry,
    count(*)::bigint as leads
from leads
group by lead_source, industry
