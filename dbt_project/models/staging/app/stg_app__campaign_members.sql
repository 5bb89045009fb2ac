with

source as (

    select * from {{ source('app', 'campaign_members') }}

),

renamed as (

    select
        id as campaign_member_id,
        campaign_id,
        contact_id,
        lead_id,
        status,
        responded_at,
        created_at
    from source

)

select * from renamed
