-- One row per live deal: value, stage, forecast, outcome, age and time in stage.
-- Indexed on the columns dashboards filter by, and on refreshed_at: the incremental run's
-- data tests read the rows of the newest.
-- Incremental by deal (macros/written_since_mark.sql): a run recomputes the deals written
-- since its mark, those with stage history written since, those whose contact's golden
-- record may have moved (contacts_resolved_since_mark), those whose stage, pipeline,
-- owner, owner's team, campaign or account was written since, and the open deals whose age
-- or days in their stage ticked over since the last run (as_of moves on without a write).
-- The deals deleted since are dropped by a post-hook; a hard delete of an input row, or an
-- edited currency rate (a seed), waits for the daily full build.
{{
    config(
        materialized='incremental',
        unique_key='deal_id',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        pre_hook=["{{ take_xid_mark() }}"],
        post_hook=[
            "{{ delete_deals_deleted_since_mark() }}",
            "{{ commit_xid_mark() }}",
        ],
        indexes=[
            {'columns': ['deal_id'], 'unique': True},
            {'columns': ['owner_id']},
            {'columns': ['created_date']},
            {'columns': ['closed_date']},
            {'columns': ['campaign_id']},
            {'columns': ['refreshed_at']},
        ],
    )
}}

with

{% if is_incremental() %}
changed (deal_id) as (

    {{ deals_written_since_mark() }}

    union

    -- one branch per foreign key, each `= any` on its own index (under one `or`,
    -- PostgreSQL scans every deal and compares it with each array element in turn)
    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where deals.contact_id = any(array({{ contacts_resolved_since_mark() }}))

    union

    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where deals.stage_id = any(array({{ stages_written_since_mark() }}))

    union

    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where deals.owner_id = any(array(
        select users.id from {{ source('app', 'users') }} as users
        where {{ written_since_mark('users') }}
           or users.team_id = any(array(
                select teams.id from {{ source('app', 'teams') }} as teams
                where {{ written_since_mark('teams') }}))))

    union

    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where deals.campaign_id = any(array(
        select campaigns.id from {{ source('app', 'marketing_campaigns') }} as campaigns
        where {{ written_since_mark('campaigns') }}))

    union

    select deals.id from {{ source('app', 'sales_pipeline') }} as deals
    where deals.account_id = any(array(
        select accounts.id from {{ source('app', 'accounts') }} as accounts
        where {{ written_since_mark('accounts') }}))

    union

    -- open deals whose age or days in their stage ticked over since the last run (every
    -- deal once, when the table was built before it kept current_stage_entered_at)
    select held.deal_id from {{ this }} as held
    {%- set held_columns = adapter.get_columns_in_relation(this) | map(attribute='name') %} -- noqa: TMP
    {%- if 'current_stage_entered_at' in held_columns %}
    where not held.is_closed
      and (held.age_days is distinct from {{ days_between('held.created_at', as_of()) }}
           or held.days_in_current_stage is distinct from {{ days_between(
                'coalesce(held.current_stage_entered_at, held.created_at)', as_of()) }})
    {%- endif %}

),
{% endif %}

-- the changed deals' keys, on each of the model's per-deal inputs: PostgreSQL does not carry
-- an `= any(...)` across a join into a view or an aggregate
{%- set changed_only -%}
    {% if is_incremental() %}where deal_id = any(array(select changed.deal_id from changed)){% endif %}
{%- endset %}

deals as (

    select * from {{ ref('stg_app__deals') }}
    where not is_deleted
    {% if is_incremental() %}and deal_id = any(array(select changed.deal_id from changed)){% endif %}

),

stages as (

    select * from {{ ref('stg_app__stages') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

campaigns as (

    select * from {{ ref('stg_app__campaigns') }}

),

history as (

    select * from {{ ref('int_deals__stage_history_aggregated') }}
    {{ changed_only }}

),

accounts as (

    select account_id, segment from {{ ref('stg_app__accounts') }}

),

teams as (

    select team_id, team_name from {{ ref('stg_app__teams') }}

),

rates as (

    select currency, rate_to_reporting from {{ ref('currency_rates') }}

),

reopened as (

    select deal_id, count(*) filter (where is_reopen) as times_reopened
    from {{ ref('int_deals__stage_history_sequenced') }}
    {{ changed_only }}
    group by deal_id

),

resolved_contacts as (

    select * from {{ ref('int_contacts__resolved_to_golden') }}

),

joined as (

    select
        deals.*,
        stages.stage_name,
        stages.stage_position,
        stages.pipeline_name,
        stages.probability as stage_probability,
        stages.forecast_category as stage_forecast_category,
        -- an open deal (e.g. reopened after it was lost) is never 'closed' in the forecast
        case when deals.forecast_category = 'closed'
             then coalesce(nullif(stages.forecast_category, 'closed'), 'pipeline')
             else deals.forecast_category end as open_forecast_category,
        (coalesce(stages.is_closed, false) or deals.is_won is not null) as is_closed_derived,
        coalesce(deals.is_won, stages.is_won and stages.is_closed, false) as is_won_derived,
        users.full_name as owner_name,
        users.team_id as owner_team_id,
        campaigns.campaign_name,
        case when resolved_contacts.is_golden_live
             then resolved_contacts.golden_contact_id end as golden_contact_id,
        -- the history's open row counts only when it is about the stage the deal is in now
        case when (history.history_stage_id is not distinct from deals.stage_id)
             then history.current_stage_entered_at end as current_stage_entered_at,
        coalesce(history.stage_changes, 0) as stage_changes,
        accounts.segment,
        teams.team_name as owner_team_name,
        rates.rate_to_reporting,
        coalesce(reopened.times_reopened, 0) as times_reopened
    from deals
    left join stages on stages.stage_id = deals.stage_id
    left join users on users.user_id = deals.owner_id
    left join campaigns on campaigns.campaign_id = deals.campaign_id
    left join history on history.deal_id = deals.deal_id
    left join resolved_contacts on resolved_contacts.contact_id = deals.contact_id
    left join accounts on accounts.account_id = deals.account_id
    left join teams on teams.team_id = users.team_id
    left join rates on rates.currency = upper(deals.currency)
    left join reopened on reopened.deal_id = deals.deal_id

),

final as (

    select
        deal_id,
        deal_name,
        account_id,
        golden_contact_id as contact_id,
        lead_id,
        owner_id,
        owner_name,
        owner_team_id,
        campaign_id,
        campaign_name,
        pipeline_id,
        pipeline_name,
        stage_id,
        stage_name,
        stage_position,
        amount,
        currency,
        coalesce(probability, stage_probability) as probability,
        case when is_closed_derived then 'closed' else open_forecast_category end
            as forecast_category,
        is_closed_derived as is_closed,
        is_closed_derived and is_won_derived as is_won,
        case when is_closed_derived then 0
             else amount * coalesce(probability, stage_probability) / 100.0
        end::numeric(16, 2) as weighted_amount,
        lead_source,
        deal_type,
        loss_reason,
        expected_close_date,
        created_at,
        created_at::date as created_date,
        case when is_closed_derived then coalesce(closed_at, updated_at) end as closed_at,
        case when is_closed_derived then coalesce(closed_at, updated_at)::date end
            as closed_date,
        {{ days_between('created_at',
            'case when is_closed_derived then coalesce(closed_at, updated_at) else ' ~ as_of() ~ ' end') }}
            as age_days,
        {{ days_between('coalesce(current_stage_entered_at, created_at)',
            'case when is_closed_derived then coalesce(closed_at, updated_at) else ' ~ as_of() ~ ' end') }}
            as days_in_current_stage,
        current_stage_entered_at,
        stage_changes,
        updated_at,
        owner_team_name,
        segment,
        case
            when is_closed_derived then 'Closed'
            else case open_forecast_category
                when 'pipeline' then 'Pipeline'
                when 'best_case' then 'Best Case'
                when 'commit' then 'Commit'
                when 'omitted' then 'Omitted'
                when 'closed' then 'Closed'
            end
        end as forecast_category_label,
        (amount * rate_to_reporting)::numeric(18, 2) as amount_reporting,
        case when is_closed_derived then 0
             else amount * rate_to_reporting * coalesce(probability, stage_probability) / 100.0
        end::numeric(18, 2) as weighted_amount_reporting,
        times_reopened::integer as times_reopened
    from joined

)

select
    final.*,
    now() as refreshed_at
from final
