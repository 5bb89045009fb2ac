-- The open pipeline as it stood at the end of each day, without what moves with time alone:
-- the stored rows under the view fct_pipeline_daily_snapshot, which adds each row's
-- snapshot_at (the end of its day, or as_of on as_of's day) and the deal's age then, at
-- read time. One row per open deal per day.
-- The state at the end of a day is the state just before midnight (or as_of): what
-- happens at midnight belongs to the next day.
-- A deal is open on a day when it was created by then, had not closed by then, and the
-- stage it was in then (int_deals__stage_history_sequenced, fct_deal_stage_history's
-- rows) is not a closed one, so a deal lost and later reopened is out of the pipeline
-- for the days it was lost. The stage it is in now (the open history row) is the deal's
-- current stage, at its current amount; earlier stages carry the amount recorded with
-- them. On a day no history row covers, a deal is in its current stage, or, when that is
-- a closed one (a deal whose history starts at its close), in its pipeline's first open
-- stage. Owner, team and segment are today's.
-- Incremental (`--full-refresh` rebuilds every day from the history): a run on a later day
-- than the last one held recomputes that last day (it may have been taken mid-day) and
-- adds the days since, up to var('as_of') (default now); a run on the same day recomputes
-- that day's rows of the deals that changed since its last run only
-- (macros/open_by_day.sql, a pre-hook, which also deletes the rows about to be
-- recomputed): with age_days and snapshot_at left to the view, the other deals' rows are
-- what they were. A deal dated after the run that wrote its day (created, closed or
-- moved at a future time) is taken in at the next day's first run.
-- Rows are written in day order, so the deals of one day sit on a few neighbouring pages,
-- not one page each: the dashboards read a day at a time. The unique index on
-- (snapshot_date, deal_id) holds owner_id and amount_reporting (INCLUDE, which dbt's index
-- config cannot say), so the pipeline page's walk between two days reads each day by an
-- index-only scan in deal order. It is a post-hook outside the transaction: it runs after
-- a full refresh has dropped the table it replaced, whose index bears the same name.
-- depends_on: {{ source('app', 'sales_pipeline') }}
-- depends_on: {{ source('app', 'deal_stage_history') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['deal_id']},
            {'columns': ['owner_id', 'snapshot_date']},
        ],
        pre_hook=["{{ take_xid_mark() }}", "{{ open_by_day_prepare() }}"],
        post_hook=[
            {'sql': "create unique index if not exists int_deals__open_by_day_day_deal_idx
                     on {{ this }} (snapshot_date, deal_id) include (owner_id, amount_reporting)",
             'transaction': False},
            "{{ commit_xid_mark() }}",
        ],
    )
}}

with

deals as (

    {{ open_by_day_deals(ref('fct_deals')) }}

),

-- read by deal, for the deals above (the lateral join below)
history as (

    select * from {{ ref('int_deals__stage_history_sequenced') }}

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

entry_stages as (

    select distinct on (pipeline_id) pipeline_id, stage_id
    from stages
    where not is_closed
    order by pipeline_id, stage_position

),

days as (

    select
        day::date as snapshot_date,
        least(day + interval '1 day', {{ as_of() }}) as point_in_time
    from generate_series(
        {%- if is_incremental() %}
        (select open_by_day_plan.last_day from open_by_day_plan),
        {%- elif var('pipeline_snapshot_start') %}
        '{{ var("pipeline_snapshot_start") }}'::date,
        {%- else %}
        (select min(created_at)::date from deals),
        {%- endif %}
        {%- if is_incremental() %}
        -- the same day only, should midnight pass since the plan
        (select case when open_by_day_plan.same_day then open_by_day_plan.last_day
                     else ({{ as_of() }})::date end from open_by_day_plan),
        {%- else %}
        ({{ as_of() }})::date,
        {%- endif %}
        interval '1 day'
    ) as day

),

deal_days as (

    select
        days.snapshot_date,
        days.point_in_time,
        deals.*
    from days
    inner join deals
        on deals.created_at < days.point_in_time
       and (not deals.is_closed or deals.closed_at >= days.point_in_time)

),

with_stage as (

    select
        deal_days.*,
        stage_then.stage_id as history_stage_id,
        stage_then.is_current as history_is_current,
        stage_then.is_closed_stage as history_is_closed,
        stage_then.amount as history_amount
    from deal_days
    left join lateral (
        select history.stage_id, history.is_current, history.is_closed_stage, history.amount
        from history
        where history.deal_id = deal_days.deal_id
          and history.entered_at < deal_days.point_in_time
          and (history.exited_at is null or history.exited_at >= deal_days.point_in_time)
        order by history.entered_at desc
        limit 1
    ) as stage_then on true

),

resolved as (

    select
        with_stage.*,
        case
            when with_stage.history_stage_id is not null
                then with_stage.history_is_current
            else not with_stage.is_closed
        end as in_current_stage,
        entry_stages.stage_id as entry_stage_id
    from with_stage
    left join entry_stages on entry_stages.pipeline_id = with_stage.pipeline_id

),

point_in_time as (

    select
        resolved.*,
        case
            when resolved.in_current_stage then resolved.stage_id
            when resolved.history_stage_id is not null then resolved.history_stage_id
            else resolved.entry_stage_id
        end as stage_id_then,
        case when resolved.in_current_stage then resolved.amount
             else coalesce(resolved.history_amount, resolved.amount) end as amount_then
    from resolved
    -- closed then (lost, and reopened later): not in that day's pipeline
    where not (coalesce(resolved.history_is_closed, false) and not resolved.in_current_stage)

)

select
    point_in_time.snapshot_date,
    point_in_time.deal_id,
    point_in_time.deal_name,
    point_in_time.account_id,
    point_in_time.owner_id,
    point_in_time.owner_team_id,
    point_in_time.segment,
    point_in_time.pipeline_id,
    point_in_time.stage_id_then as stage_id,
    stages.stage_name,
    stages.stage_position,
    case when point_in_time.in_current_stage then point_in_time.forecast_category
         else stages.forecast_category end as forecast_category,
    case when point_in_time.in_current_stage then point_in_time.probability
         else stages.probability end as probability,
    point_in_time.amount_then::numeric(16, 2) as amount,
    point_in_time.currency,
    (point_in_time.amount_then * rates.rate_to_reporting)::numeric(18, 2) as amount_reporting,
    point_in_time.created_date,
    point_in_time.expected_close_date,
    point_in_time.created_at
from point_in_time
left join stages on stages.stage_id = point_in_time.stage_id_then
left join {{ ref('currency_rates') }} as rates on rates.currency = upper(point_in_time.currency)
order by point_in_time.snapshot_date, point_in_time.deal_id
