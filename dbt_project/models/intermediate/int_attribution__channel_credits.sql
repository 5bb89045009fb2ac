-- What int_attribution__channel_totals has counted, by conversion: each conversion's
-- credit, revenue and touchpoints per attribution_by_channel group
-- (macros/attribution_channel_credits.sql). The totals' next run subtracts a rewritten
-- conversion's rows here (its old credits) and adds its new ones, so this runs after the
-- totals (depends_on below) and then takes in the same conversions: those fct_attribution
-- rewrote since its newest refreshed_at; a post-hook drops the conversions that are gone.
-- `dbt build --full-refresh` rebuilds it with the totals (select both: the totals' delta
-- is only right against the credits it counted).
-- depends_on: {{ ref('int_attribution__channel_totals') }}
-- depends_on: {{ ref('int_attribution__conversions') }}
{{
    config(
        materialized='incremental',
        unique_key='conversion_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['conversion_id']},
            {'columns': ['model', 'conversion_id']},
            {'columns': ['refreshed_at']},
        ],
        post_hook=[
            "{% if is_incremental() %}delete from {{ this }} where conversion_id = any(array("
            "{{ attribution_credits_gone(this) }})){% endif %}",
        ],
    )
}}

select
    credits.*,
    now() as refreshed_at
from (
    {% if is_incremental() -%}
    {{ attribution_channel_credits_select(
        "select distinct attribution.conversion_id from " ~ ref('fct_attribution') ~ " as attribution"
        ~ " where " ~ written_since_last_refresh('attribution.attributed_at', lookback=false)) }}
    {%- else -%}
    {{ attribution_channel_credits_select() }}
    {%- endif %}
) as credits
