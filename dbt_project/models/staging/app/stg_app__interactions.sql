with

source as (

    select * from {{ source('app', 'interactions') }}

),

renamed as (

    select
        id as interaction_id,
        kind,
        direction,
        contact_id,
        account_id,
        deal_id,
        user_id,
        occurred_at,
        subject,
        thread_id,
        duration_seconds,
        source,
        created_at,
        updated_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
