with

source as (

    select * from {{ source('app', 'campaign_deliveries') }}

),

renamed as (

    select
        id as campaign_delivery_id,
        campaign_id,
        contact_id,
        status,
        sent_at,
        opened_at,
        clicked_at,
        unsubscribed_at,
        created_at
    from source

)

select * from renamed
