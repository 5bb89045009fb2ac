-- One row per live account, with where it stands on the lead-to-customer journey (the
-- seed's: lead -> deal -> won -> contract), at var('as_of'):
--   customer  an active contract (fct_contracts.is_active), or a won deal and no
--             contract that has ended (not signed yet, or not started yet)
--   churned   won deals or contracts once, but every contract has ended (terminated or
--             past its end date) and none is active
--   prospect  never won a deal nor held a signed contract
-- with its first won date, its won revenue and the value of its active contracts, both in
-- the reporting currency. The account's own is_customer flag (set by a CRM) counts as a
-- won deal whose date is unknown.
-- Indexed on the columns dashboards filter by.
{{
    config(
        indexes=[
            {'columns': ['account_id'], 'unique': True},
            {'columns': ['customer_status']},
        ],
    )
}}

with

accounts as (

    select account_id, account_name, segment, owner_id, is_customer
    from {{ ref('stg_app__accounts') }}
    where not is_deleted

),

won as (

    select
        account_id,
        count(*) as won_deals,
        min(closed_at) as first_won_at,
        sum(amount_reporting) as won_revenue
    from {{ ref('fct_deals') }}
    where is_won
      and account_id is not null
    group by account_id

),

contracts as (

    select
        account_id,
        count(*) as contracts,
        count(*) filter (where is_active) as active_contracts,
        count(*) filter (where status in ('signed', 'active', 'terminated')) as signed_contracts,
        count(*) filter (where has_ended) as ended_contracts,
        sum(value_reporting) filter (where is_active) as active_contract_value,
        min(coalesce(signed_at::date, start_date)) as first_contract_date,
        max(end_date) filter (where has_ended) as last_ended_on
    from {{ ref('fct_contracts') }}
    where account_id is not null
    group by account_id

),

joined as (

    select
        accounts.*,
        coalesce(won.won_deals, 0) as won_deals,
        won.first_won_at,
        coalesce(won.won_revenue, 0) as won_revenue,
        coalesce(contracts.contracts, 0) as contracts,
        coalesce(contracts.active_contracts, 0) as active_contracts,
        coalesce(contracts.signed_contracts, 0) as signed_contracts,
        coalesce(contracts.ended_contracts, 0) as ended_contracts,
        coalesce(contracts.active_contract_value, 0) as active_contract_value,
        contracts.first_contract_date,
        contracts.last_ended_on
    from accounts
    left join won on won.account_id = accounts.account_id
    left join contracts on contracts.account_id = accounts.account_id

)

select
    account_id,
    account_name,
    segment,
    owner_id,
    case
        when active_contracts > 0 then 'customer'
        when ended_contracts > 0 then 'churned'
        when won_deals > 0 or signed_contracts > 0 or is_customer then 'customer'
        else 'prospect'
    end::text as customer_status,
    won_deals::integer as won_deals,
    first_won_at,
    first_won_at::date as first_won_date,
    won_revenue::numeric(18, 2) as won_revenue,
    contracts::integer as contracts,
    active_contracts::integer as active_contracts,
    active_contract_value::numeric(18, 2) as active_contract_value,
    first_contract_date,
    case when active_contracts = 0 and ended_contracts > 0 then last_ended_on end
        as churned_on
from joined
