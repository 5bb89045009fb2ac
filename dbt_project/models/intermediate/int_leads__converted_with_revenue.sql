-- Converted live leads, with the revenue they brought: the amount of their won deals
-- (the deal they converted into, or any deal that names the lead), in the reporting
-- currency (seeds/currency_rates.csv; a deal in a currency without a rate adds nothing).
-- The revenue is summed from the won deals and the leads' own rows, and the resolved leads
-- (the costly part) are read once: a filter on lead_id reaches them.
with

converted as (

    select lead_id, contact_id, converted_at
    from {{ ref('int_leads__resolved') }}
    where is_converted
      and converted_at is not null

),

won_deals as (

    select deals.deal_id, deals.lead_id, deals.amount * rates.rate_to_reporting as amount
    from {{ ref('stg_app__deals') }} as deals
    left join {{ ref('currency_rates') }} as rates on rates.currency = upper(deals.currency)
    where deals.is_won
      and not deals.is_deleted

),

lead_deals as (

    select leads.lead_id, won_deals.deal_id, won_deals.amount
    from {{ ref('stg_app__leads') }} as leads
    inner join won_deals on won_deals.deal_id = leads.converted_deal_id

    union

    select won_deals.lead_id, won_deals.deal_id, won_deals.amount
    from won_deals
    where won_deals.lead_id is not null

),

revenue as (

    select lead_id, coalesce(sum(amount), 0) as revenue, count(*) as won_deals
    from lead_deals
    group by lead_id

)

select
    converted.lead_id,
    converted.contact_id,
    converted.converted_at,
    converted.converted_at::date as conversion_date,
    coalesce(revenue.revenue, 0)::numeric(16, 2) as revenue,
    coalesce(revenue.won_deals, 0)::integer as won_deals
from converted
left join revenue using (lead_id)
