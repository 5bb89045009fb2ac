with

source as (

    select * from {{ source('app', 'sales_targets') }}

),

renamed as (

    select
        id as sales_target_id,
        period_grain,
        period_start,
        team_id,
        user_id,
        amount as target_amount,
        set_by as set_by_user_id,
        updated_at
    from source

)

select * from renamed
