-- Accounts imported from a file through a column mapping (raw.mapped__accounts, e.g.
-- Maven CRM's accounts.csv with examples/maven_crm_accounts.yaml), current version of
-- each: typed, renamed, and the known misspellings of industries corrected
-- (var('industry_fixes'): 'technolgy' is 'technology').
with

source as (

    {{ latest_raw_versions(source('raw', 'mapped__accounts')) }}

),

renamed as (

    select
        coalesce({{ raw_field('name') }}, source_key) as account_name,
        {{ raw_field('origin_system') }} as origin_system,
        {{ fix_spelling('lower(' ~ raw_field('industry') ~ ')', 'industry_fixes') }} as industry,
        {{ try_integer("record->>'founded_year'") }} as founded_year,
        {{ try_numeric("record->>'annual_revenue'", 'numeric(18,2)') }} as annual_revenue,
        {{ try_integer("record->>'employees'") }} as employees,
        {{ raw_field('country') }} as country,
        {{ raw_field('parent') }} as parent_account_name,
        {{ raw_lineage_columns() }}
    from source

)

select * from renamed
