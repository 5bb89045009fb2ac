-- The leads added up per day of creation, owner, source, industry, score and outcome:
-- what the dashboards' Leads page counts (open leads, bands, the score distribution and
-- the calibration) read from these rows instead of every lead's wide row. The probability
-- is kept rounded up to a whole percent, so bins of whole percents (the calibration's
-- tenths) are exact, and summed exactly. Written in day order, so a range of days reads
-- adjacent pages.
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
        lead_source,
        industry,
        score,
        score_band,
        is_closed,
        is_converted,
        score_probability,
        ceil(score_probability * 100)::int as probability_percent
    from {{ ref('fct_leads') }}
    where created_at is not null

)

select
    created_date,
    owner_id,
    lead_source,
    industry,
    score,
    score_band,
    is_closed,
    is_converted,
    probability_percent,
    count(*)::int as leads,
    sum(score_probability)::double precision as probability_sum
from leads
group by
    created_date, owner_id, lead_source, industry, score, score_band, is_closed,
    is_converted, probability_percent
order by created_date
