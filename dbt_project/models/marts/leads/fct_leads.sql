-- One row per live lead: its features and outcome (lead_features), its current score, band
-- and probability from the lead-scoring model (the latest ml.lead_scores row), then its
-- status history (when it became an MQL, SQL, opportunity, won or was disqualified), the
-- first sales response and the time to qualify. The lead_features columns come first and
-- unchanged: they are a contract (CONTRACTS.md).
-- Indexed on the columns dashboards filter by, and (post-hook: dbt's index config has no
-- sort order or WHERE) on the open leads in priority order, so the dashboards' lead queue
-- reads its first rows in order instead of sorting every lead. That post-hook runs outside
-- the transaction: inside it, a full refresh would find the replaced table's index of the
-- same name still there, skip it, and then drop it with that table.
-- Incremental by lead: a run recomputes the leads whose funnel stages were recomputed
-- (int_leads__funnel_stages recomputes every lead whose own row, contact, merges,
-- touchpoints, interactions, deals or tasks changed: all that lead_features reads but the
-- accounts), those of the contacts whose email domain names an account written since its
-- mark (macros/written_since_mark.sql), and those scored since the last run. The leads
-- deleted since are dropped by a post-hook; a hard delete, or an account's domain edited
-- away from its old leads, waits for the daily full build.
-- The incremental run plans its select without Materialize nodes (`set local`, for the
-- model's transaction): the changed leads and their contacts' engagement streams are both
-- read by `= any(array(...))`, which PostgreSQL estimates at ten rows whatever the array,
-- so it joined them by a nested loop over the materialized streams, comparing every lead
-- with every stream row (6,388 x 16,664 at 1,000,000 contacts: 9.3 of the select's 9.7 s).
-- Without Materialize a nested loop would rerun the streams' scans per lead, and it hashes
-- them instead (0.26 s); the joins by index are nested loops still.
-- depends_on: {{ ref('stg_app__contacts') }}
-- depends_on: {{ ref('stg_app__accounts') }}
-- depends_on: {{ ref('int_leads__engagement_aggregated') }}
-- depends_on: {{ ref('int_touchpoints__linked_to_contacts') }}
-- depends_on: {{ ref('stg_app__interactions') }}
-- depends_on: {{ ref('int_contacts__resolved_to_golden') }}
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
        pre_hook=[
            "{{ take_xid_mark() }}",
            "{% if is_incremental() %}set local enable_material = off{% endif %}",
        ],
        post_hook=[
            {'sql': "create index if not exists fct_leads_open_queue_idx on {{ this }}
                     (score desc nulls last, created_at desc, lead_id) where not is_closed",
             'transaction': False},
            "delete from {{ this }} where lead_id in (select leads.id from
             {{ source('app', 'leads') }} as leads where {{ written_since_mark('leads') }}
             and leads.deleted_at is not null)",
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with

{% if is_incremental() %}
written_accounts as (

    select accounts.domain from {{ source('app', 'accounts') }} as accounts
    where accounts.domain is not null and {{ written_since_mark('accounts') }}

),

changed (lead_id) as (

    select lead_id from {{ ref('int_leads__funnel_stages') }}
    where {{ written_since_last_refresh('refreshed_at', lookback=false) }}

    union

    select lead_id from {{ ref('stg_ml__lead_scores') }}
    where {{ written_since_last_refresh('scored_at') }}

    union

    -- firmographics come from the account of the contact's email domain (lead_features):
    -- the leads of the contacts on the domain of an account written since the mark (the
    -- contacts are read only when there is one)
    select leads.id from {{ source('app', 'leads') }} as leads
    where leads.contact_id = any(array(
        {{ members_of("select contacts.contact_id from " ~ ref('stg_app__contacts')
            ~ " as contacts where split_part(contacts.email_normalized, '@', 2)"
            ~ " = any(array(select written_accounts.domain from written_accounts))"
            ~ " and exists (select from written_accounts)") }}
    ))

),
{% endif %}

-- lead_features, of the changed leads only (macros/lead_features_select.sql)
features as (

    {% if is_incremental() -%}
    {{ lead_features_select('select changed.lead_id from changed') }}
    {%- else -%}
    select * from {{ ref('lead_features') }}
    {%- endif %}

),

latest_scores as (

    select distinct on (lead_id)
        lead_id, score, score_band, score_probability
    from {{ ref('stg_ml__lead_scores') }}
    {% if is_incremental() %}where lead_id = any(array(select changed.lead_id from changed)){% endif %}
    order by lead_id, scored_at desc, lead_score_id desc

),

stages as (

    select * from {{ ref('int_leads__funnel_stages') }}
    {% if is_incremental() %}where lead_id = any(array(select changed.lead_id from changed)){% endif %}

),

leads as (

    -- the leads' own rows (the resolved view would resolve every contact first)
    select lead_id, disqualified_reason from {{ ref('stg_app__leads') }}
    {% if is_incremental() %}where lead_id = any(array(select changed.lead_id from changed)){% endif %}

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
    now()::timestamptz as refreshed_at
from features
left join latest_scores on latest_scores.lead_id = features.lead_id
left join stages on stages.lead_id = features.lead_id
left join leads on leads.lead_id = features.lead_id
