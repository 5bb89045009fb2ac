-- Deals imported from a file through a column mapping (raw.mapped__deals, e.g. Maven CRM's
-- sales_pipeline.csv with examples/maven_crm_deals.yaml), current version of each: typed,
-- renamed, and the known misspellings of product names corrected
-- (var('product_name_fixes'): 'GTXPro' is 'GTX Pro'). A deal still in prospecting has no
-- engage date yet and an open deal no close date or value: those stay null, not rejects
-- (assert_mapped_deals_dated_past_prospecting checks that only they lack them).
with

source as (

    {{ latest_raw_versions(source('raw', 'mapped__deals')) }}

),

renamed as (

    select
        coalesce({{ raw_field('external_id') }}, source_key) as deal_key,
        {{ raw_field('origin_system') }} as origin_system,
        {{ raw_field('owner') }} as owner_name,
        {{ raw_field('account') }} as account_name,
        {{ fix_spelling(raw_field('product'), 'product_name_fixes') }} as product,
        {{ raw_field('stage') }} as stage,
        coalesce({{ try_boolean("record->>'is_won'") }}, false) as is_won,
        coalesce({{ try_boolean("record->>'is_closed'") }}, false) as is_closed,
        {{ try_date("record->>'engage_date'") }} as engaged_on,
        {{ try_date("record->>'close_date'") }} as closed_on,
        {{ try_numeric("record->>'amount'", 'numeric(16,2)') }} as amount,
        {{ raw_lineage_columns() }}
    from source

)

select * from renamed
