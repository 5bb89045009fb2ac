-- One row per live lead: its features and outcome (lead_features), its current score, band
-- and probability from the lead-scoring model (the latest ml.lead_scores row), then its
-- status history (when it became an MQL, SQL, opportunity, won or was disqualified), the
-- first sales response and the time to qualify. The lead_features columns come first and
-- unchanged: they are a contract (CONTRACTS.md).
-- Indexed on the columns dashboards filter by, and (post-hook: dbt's index config has no
-- sort order or WHERE) on the open leads in priority order, so the dashboards' lead queue
-- reads its first rows in order instead of sorting every lead.
-- Incremental by lead (macros/changed_keys.sql): a run recomputes the leads whose row,
-- contact or domain accounts changed (inputs_hash), whose funnel stages were recomputed
-- (int_leads__funnel_stages follows their touchpoints, interactions, deals and tasks) or
-- that were scored since the last run.
{{
    config(
        materialized='incremental',
        unique_key='lead_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['lead_id'], 'unique': True},
            {'columns': ['created_at']},
            {'columns': ['owner_id']},
            {'columns': ['campaign_id']},
            {'columns': ['refreshed_at']},
        ],
        post_hook=[
            "create index if not exists fct_leads_open_queue_idx on {{ this }}
             (score desc nulls last, created_at desc, lead_id) where not is_closed",
            "{{ delete_gone_keys('lead_id', ref('int_leads__resolved')) }}",
        ],
    )
}}

with

-- what a lead's row depends on apart from its funnel stages and scores
lead_inputs as (

    select
        resolved.lead_id,
        md5(row(resolved.*, contacts.*, domain_accounts.accounts)::text) as inputs_hash
    from {{ ref('int_leads__resolved') }} as resolved
    left join {{ ref('stg_app__contacts') }} as contacts
        on contacts.contact_id = resolved.contact_id
    left join (
        select domain, array_agg(accounts order by account_id) as accounts
        from {{ ref('stg_app__accounts') }} as accounts
        where domain is not null
        group by domain
    ) as domain_accounts
        on domain_accounts.domain = split_part(contacts.email_normalized, '@', 2)

),

{% if is_incremental() %}
changed as (

    {{ changed_keys('lead_id', 'select lead_id, inputs_hash from lead_inputs', [
        "select lead_id from " ~ ref('int_leads__funnel_stages') ~ " where "
        ~ written_since_last_refresh('refreshed_at', lookback=false),
        "select lead_id from " ~ ref('stg_ml__lead_scores') ~ " where "
        ~ written_since_last_refresh('scored_at'),
    ]) }}

),
{% endif %}

features as (

    select * from {{ ref('lead_features') }}
    {% if is_incremental() %}where lead_id = any(array(select lead_id from changed)){% endif %}

),

latest_scores as (

    select distinct on (lead_id)
        lead_id, score, score_band, score_probability
    from {{ ref('stg_ml__lead_scores') }}
    {% if is_incremental() %}where lead_id = any(array(select lead_id from changed)){% endif %}
    order by lead_id, scored_at desc, lead_score_id desc

),

stages as (

    select * from {{ ref('int_leads__funnel_stages') }}
    {% if is_incremental() %}where lead_id = any(array(select lead_id from changed)){% endif %}

),

leads as (

    select lead_id, disqualified_reason from {{ ref('int_leads__resolved') }}
    {% if is_incremental() %}where lead_id = any(array(select lead_id from changed)){% endif %}

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
        ::numeric(12, 2) as days_to_convert,
    lead_inputs.inputs_hash::text as inputs_hash,
    now()::timestamptz as refreshed_at
from features
inner join lead_inputs on lead_inputs.lead_id = features.lead_id
left join latest_scores on latest_scores.lead_id = features.lead_id
left join stages on stages.lead_id = features.lead_id
left join leads on leads.lead_id = features.lead_id
