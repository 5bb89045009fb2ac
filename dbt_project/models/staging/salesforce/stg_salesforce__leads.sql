-- Salesforce leads, current version of each: typed and renamed; junk values become null.
with

source as (

    {{ latest_raw_records(source('raw', 'salesforce__lead')) }}

),

renamed as (

    select
        coalesce({{ raw_field('Id') }}, source_key) as lead_id,
        {{ raw_field('FirstName') }} as first_name,
        {{ raw_field('LastName') }} as last_name,
        {{ raw_field('Email') }} as email,
        app.normalize_email({{ raw_field('Email') }}) as email_normalized,
        {{ raw_field('Phone') }} as phone,
        {{ raw_field('Company') }} as company,
        {{ raw_field('Title') }} as title,
        {{ raw_field('Industry') }} as industry,
        {{ try_integer("record->>'NumberOfEmployees'") }} as employees,
        {{ raw_field('LeadSource') }} as lead_source,
        {{ raw_field('Status') }} as status,
        {{ raw_field('Rating') }} as rating,
        {{ raw_field('OwnerId') }} as owner_id,
        coalesce({{ try_boolean("record->>'IsConverted'") }}, false) as is_converted,
        {{ raw_field('ConvertedContactId') }} as converted_contact_id,
        {{ raw_field('ConvertedAccountId') }} as converted_account_id,
        {{ raw_field('ConvertedOpportunityId') }} as converted_opportunity_id,
        {{ try_date("record->>'ConvertedDate'") }} as converted_date,
        {{ try_timestamp("record->>'CreatedDate'") }} as created_at,
        {{ try_timestamp("record->>'LastModifiedDate'") }} as last_modified_at,
        coalesce({{ try_boolean("record->>'IsDeleted'") }}, false) as is_deleted,
        {{ raw_field('UTM_Source__c') }} as utm_source,
        {{ raw_field('UTM_Campaign__c') }} as utm_campaign,
        {{ raw_lineage_columns() }}
    from source

)

select * from renamed
