-- Salesforce opportunities, current version of each: typed and renamed; junk values become null.
with

source as (

    {{ latest_raw_records(source('raw', 'salesforce__opportunity')) }}

),

renamed as (

    select
        coalesce({{ raw_field('Id') }}, source_key) as opportunity_id,
        {{ raw_field('AccountId') }} as account_id,
        {{ raw_field('Contact__c') }} as contact_id,
        {{ raw_field('Name') }} as opportunity_name,
        {{ raw_field('StageName') }} as stage_name,
        {{ try_numeric("record->>'Amount'", 'numeric(16,2)') }} as amount,
        {{ try_numeric("record->>'Probability'") }} as probability,
        {{ try_date("record->>'CloseDate'") }} as close_date,
        {{ raw_field('Type') }} as opportunity_type,
        {{ raw_field('LeadSource') }} as lead_source,
        {{ raw_field('ForecastCategoryName') }} as forecast_category,
        coalesce({{ try_boolean("record->>'IsClosed'") }}, false) as is_closed,
        coalesce({{ try_boolean("record->>'IsWon'") }}, false) as is_won,
        {{ raw_field('OwnerId') }} as owner_id,
        {{ raw_field('CampaignId') }} as campaign_id,
        {{ try_timestamp("record->>'CreatedDate'") }} as created_at,
        {{ try_timestamp("record->>'LastModifiedDate'") }} as last_modified_at,
        coalesce({{ try_boolean("record->>'IsDeleted'") }}, false) as is_deleted,
        {{ raw_field('Loss_Reason__c') }} as loss_reason,
        {{ raw_lineage_columns() }}
    from source

)

select * from renamed
