-- One row per live account: firmographics, owner and territory, and what we sold them
-- (deals, pipeline and won revenue in the reporting currency, contracts).
with

accounts as (

    select * from {{ ref('stg_app__accounts') }}
    where not is_deleted

),

users as (

    select * from {{ ref('dim_users') }}

),

contacts as (

    select account_id, count(*) as contacts
    from {{ ref('dim_contacts') }}
    where account_id is not null
    group by account_id

),

deals as (

    select
        account_id,
        count(*) as deals,
        count(*) filter (where not is_closed) as open_deals,
        count(*) filter (where is_won) as won_deals,
        sum(amount_reporting) filter (where not is_closed) as open_pipeline,
        sum(amount_reporting) filter (where is_won) as won_revenue,
        min(closed_at) filter (where is_won) as first_won_at,
        max(closed_at) filter (where is_won) as last_won_at
    from {{ ref('fct_deals') }}
    where account_id is not null
    group by account_id

),

contracts as (

    select
        account_id,
        count(*) filter (where status in ('signed', 'active')) as active_contracts
    from {{ ref('stg_app__contracts') }}
    where not is_deleted
      and account_id is not null
    group by account_id

)

select
    accounts.account_id,
    accounts.account_name,
    accounts.domain,
    accounts.industry,
    accounts.segment,
    accounts.employees,
    accounts.annual_revenue,
    accounts.country,
    accounts.city,
    accounts.owner_id,
    users.full_name as owner_name,
    users.team_name as owner_team_name,
    users.territory,
    (accounts.is_customer or coalesce(deals.won_deals, 0) > 0) as is_customer,
    case
        when coalesce(contracts.active_contracts, 0) > 0 then 'active_customer'
        when accounts.is_customer or coalesce(deals.won_deals, 0) > 0 then 'customer'
        when coalesce(deals.open_deals, 0) > 0 then 'opportunity'
        else 'prospect'
    end as customer_status,
    coalesce(contacts.contacts, 0)::integer as contacts,
    coalesce(deals.deals, 0)::integer as deals,
    coalesce(deals.open_deals, 0)::integer as open_deals,
    coalesce(deals.won_deals, 0)::integer as won_deals,
    coalesce(deals.open_pipeline, 0)::numeric(18, 2) as open_pipeline,
    coalesce(deals.won_revenue, 0)::numeric(18, 2) as won_revenue,
    deals.first_won_at,
    deals.last_won_at,
    coalesce(contracts.active_contracts, 0)::integer as active_contracts,
    accounts.created_at,
    accounts.updated_at
from accounts
left join users on users.user_id = accounts.owner_id
left join contacts on contacts.account_id = accounts.account_id
left join deals on deals.account_id = accounts.account_id
left join contracts on contracts.account_id = accounts.account_id
