-- One row per live lead: its features and outcome (lead_features) and its current score,
-- band and probability from the lead-scoring model (the latest ml.lead_scores row).
with

features as (

    select * from {{ ref('lead_features') }}

),

latest_scores as (

    select distinct on (lead_id)
        lead_id, score, score_band, score_probability
    from {{ ref('stg_ml__lead_scores') }}
    order by lead_id, scored_at desc, lead_score_id desc

)

select
    features.*,
    latest_scores.score::integer as score,
    latest_scores.score_band::text as score_band,
    latest_scores.score_probability::double precision as score_probability
from features
left join latest_scores on latest_scores.lead_id = features.lead_id
