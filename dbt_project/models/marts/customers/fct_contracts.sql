-- One row per live contract (app.contracts, the seed's smart_contracts): what a won deal
-- turned into. Its deal, account and contact, its value in its own and the reporting
-- currency (the won deal's amount: the contract's own value is sealed at rest and never
-- reaches the warehouse), its term, and whether it is active at var('as_of'): signed or active, started
-- (or no start date) and not yet ended (or no end date). A draft or sent contract is not
-- active yet; a terminated one, or one past its end date, no longer.
-- Indexed on the columns dashboards filter by.
{{
    config(
        indexes=[
            {'columns': ['contract_id'], 'unique': True},
            {'columns': ['account_id']},
        ],
    )
}}

with

contracts as (

    select * from {{ ref('stg_app__contracts') }}
    where not is_deleted

),

deals as (

    select deal_id, account_id, contact_id, owner_id, is_won, closed_at, amount, currency,
        amount_reporting
    from {{ ref('fct_deals') }}

),

joined as (

    select
        contracts.contract_id,
        contracts.deal_id,
        coalesce(contracts.account_id, deals.account_id) as account_id,
        deals.contact_id,
        deals.owner_id,
        contracts.status,
        deals.amount as value,
        upper(deals.currency) as currency,
        deals.amount_reporting as value_reporting,
        contracts.start_date,
        contracts.end_date,
        contracts.signed_at,
        case when deals.is_won then deals.closed_at end as deal_won_at,
        contracts.created_at,
        contracts.status in ('signed', 'active')
            and coalesce(contracts.start_date <= ({{ as_of() }})::date, true)
            and coalesce(contracts.end_date >= ({{ as_of() }})::date, true) as is_active,
        contracts.status = 'terminated'
            or coalesce(contracts.end_date < ({{ as_of() }})::date, false) as has_ended
    from contracts
    left join deals on deals.deal_id = contracts.deal_id

)

select
    contract_id,
    deal_id,
    account_id,
    contact_id,
    owner_id,
    status,
    value,
    currency,
    value_reporting,
    start_date,
    end_date,
    (end_date - start_date + 1)::integer as term_days,
    signed_at,
    deal_won_at,
    {{ days_between('deal_won_at', 'signed_at') }} as days_from_won_to_signed,
    is_active,
    has_ended,
    created_at
from joined
