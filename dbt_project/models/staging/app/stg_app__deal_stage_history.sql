with

source as (

    select * from {{ source('app', 'deal_stage_history') }}

),

renamed as (

    select
        id as deal_stage_history_id,
        deal_id,
        stage_id,
        stage_label,
        amount,
        probability,
        entered_at,
        exited_at,
        changed_by as changed_by_user_id
    from source

)

select * from renamed
