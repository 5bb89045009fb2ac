with

source as (

    select * from {{ source('app', 'sales_pipeline') }}

),

renamed as (

    select
        id as deal_id,
        name as deal_name,
        account_id,
        contact_id,
        lead_id,
        pipeline_id,
        stage_id,
        owner_id,
        campaign_id,
        amount,
        currency,
        probability,
        forecast_category,
        expected_close_date,
        closed_at,
        is_won,
        loss_reason,
        lead_source,
        deal_type,
        source,
        source_key,
        created_at,
        updated_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
