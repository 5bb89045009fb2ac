with

source as (

    select * from {{ source('app', 'users') }}

),

renamed as (

    select
        id as user_id,
        full_name,
        email::text as email,
        role_id,
        team_id,
        manager_id,
        title,
        is_active,
        created_at,
        deleted_at is not null as is_deleted
    from source

)

select * from renamed
