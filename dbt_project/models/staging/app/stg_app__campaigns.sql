with

source as (

    select * from {{ source('app', 'marketing_campaigns') }}

),

renamed as (

    select
        id as campaign_id,
        name as campaign_name,
        channel,
        campaign_type,
        status,
        start_date,
        end_date,
        budget,
        actual_cost,
        owner_id,
        source,
        source_key,
        created_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
