-- Converted live leads, with the revenue they brought: the amount of their won deals
-- (the deal they converted into, or any deal that names the lead), in the reporting
-- currency (seeds/currency_rates.csv; a deal in a currency without a rate adds nothing).
-- The revenue is summed from the won deals and the leads' own rows, and the resolved leads
-- (the costly part) are read once: a filter on lead_id reaches them. The select is
-- macros/converted_leads_select.sql (int_attribution__conversions reads it for its changed
-- leads).
{{ converted_leads_select() }}
