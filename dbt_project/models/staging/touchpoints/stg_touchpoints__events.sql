-- Marketing touchpoint events, current version of each: typed and renamed.
-- Incremental (an event log grows without end): a run reads only the raw rows loaded since
-- the newest one it already has, less a margin for loads that committed late, and replaces
-- the events they carry. `dbt build --full-refresh` rebuilds it from all of raw.
{{
    config(
        materialized='incremental',
        unique_key='source_key',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['source_key'], 'unique': True},
            {'columns': ['loaded_at']},
            {'columns': ['email_normalized']},
            {'columns': ['anonymous_id']},
        ],
    )
}}

with

source as (

    select distinct on (source_key) *
    from {{ source('raw', 'touchpoints__events') }}
    {% if is_incremental() %}
    -- the newest loaded_at held, as a literal: the planner then sees how few raw rows are
    -- that recent and reads them by the raw table's BRIN index on loaded_at (a range from
    -- a subquery it takes for a third of the table, and scans it all)
    where loaded_at > coalesce({{ newest_as_literal('loaded_at', this) }}, '-infinity'::timestamptz)
        - interval '{{ var("incremental_lookback_hours") | int }} hours'
    {% endif %}
    order by source_key, loaded_at desc, id desc

),

renamed as (

    select
        coalesce({{ raw_field('event_id') }}, source_key) as event_id,
        lower({{ raw_field('event_type') }}) as event_type,
        {{ try_timestamp("record->>'occurred_at'") }} as occurred_at,
        {{ raw_field('anonymous_id') }} as anonymous_id,
        {{ raw_field('email') }} as email,
        app.normalize_email({{ raw_field('email') }}) as email_normalized,
        replace(lower({{ raw_field('channel') }}), ' ', '_') as channel,
        {{ raw_field('campaign') }} as campaign_name,
        lower({{ clean_text("record->'utm'->>'source'") }}) as utm_source,
        lower({{ clean_text("record->'utm'->>'medium'") }}) as utm_medium,
        {{ clean_text("record->'utm'->>'campaign'") }} as utm_campaign,
        {{ clean_text("record->'utm'->>'content'") }} as utm_content,
        {{ clean_text("record->'utm'->>'term'") }} as utm_term,
        {{ raw_field('page_url') }} as page_url,
        {{ raw_field('referrer') }} as referrer,
        {{ try_numeric("record->>'cost'", 'numeric(16,4)') }} as cost,
        {{ raw_lineage_columns() }}
    from source

)

select * from renamed
