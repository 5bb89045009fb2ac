-- One row per live lead: its features and outcome (lead_features), its current score, band
-- and probability from the lead-scoring model (the latest ml.lead_scores row), then its
-- status history (when it became an MQL, SQL, opportunity, won or was disqualified), the
-- first sales response and the time to qualify. The lead_features columns come first and
-- unchanged: they are a contract (CONTRACTS.md).
-- Indexed on the columns dashboards filter by, and (post-hook: dbt's index config has no
-- sort order or WHERE) on the open leads in priority order, so the dashboards' lead queue
-- reads its first rows in order instead of sorting every lead.
{{
    config(
        indexes=[
            {'columns': ['created_at']},
            {'columns': ['owner_id']},
            {'columns': ['campaign_id']},
        ],
        post_hook=[
            "create index on {{ this }} (score desc nulls last, created_at desc, lead_id)
             where not is_closed",
        ],
    )
}}

with

features as (

    select * from {{ ref('lead_features') }}

),

latest_scores as (

    select distinct on (lead_id)
        lead_id, score, score_band, score_probability
    from {{ ref('stg_ml__lead_scores') }}
    order by lead_id, scored_at desc, lead_score_id desc

),

stages as (

    select * from {{ ref('int_leads__funnel_stages') }}

),

leads as (

    select lead_id, disqualified_reason from {{ ref('int_leads__resolved') }}

)

select
    features.*,
    latest_scores.score::integer as score,
    latest_scores.score_band::text as score_band,
    latest_scores.score_probability::double precision as score_probability,
    case
        when stages.won_at is not null then 'won'
        when stages.opportunity_at is not null then 'opportunity'
        when stages.sql_at is not null then 'sql'
        when stages.mql_at is not null then 'mql'
        else 'lead'
    end::text as funnel_stage,
    stages.mql_at::timestamptz as mql_at,
    stages.sql_at::timestamptz as sql_at,
    stages.opportunity_at::timestamptz as opportunity_at,
    stages.won_at::timestamptz as won_at,
    stages.disqualified_at::timestamptz as disqualified_at,
    leads.disqualified_reason::text as disqualified_reason,
    stages.first_response_at::timestamptz as first_response_at,
    round((extract(epoch from stages.first_response_at - features.created_at) / 3600)::numeric, 2)
        ::numeric(12, 2) as hours_to_first_response,
    coalesce(
        stages.first_response_at <= features.created_at
            + interval '{{ var("lead_response_sla_hours") | int }} hours',
        false
    )::boolean as responded_within_sla,
    round((extract(epoch from stages.sql_at - features.created_at) / 86400)::numeric, 2)
        ::numeric(12, 2) as days_to_qualify,
    round((extract(epoch from features.converted_at - features.created_at) / 86400)::numeric, 2)
        ::numeric(12, 2) as days_to_convert
from features
left join latest_scores on latest_scores.lead_id = features.lead_id
left join stages on stages.lead_id = features.lead_id
left join leads on leads.lead_id = features.lead_id
