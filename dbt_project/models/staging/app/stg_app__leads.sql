with

source as (

    select * from {{ source('app', 'leads') }}

),

renamed as (

    select
        id as lead_id,
        contact_id,
        account_id,
        owner_id,
        campaign_id,
        converted_deal_id,
        company,
        title,
        industry,
        employees,
        status,
        lead_source,
        utm,
        source,
        source_key,
        disqualified_reason,
        first_touch_at,
        qualified_at,
        converted_at,
        created_at,
        updated_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
