with

source as (

    select * from {{ source('app', 'teams') }}

),

renamed as (

    select
        id as team_id,
        name as team_name,
        parent_id as parent_team_id,
        manager_id as team_manager_id,
        territory
    from source

)

select * from renamed
